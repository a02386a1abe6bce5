"""Superpixel Pooling Network (Kwak, Hong & Han, "Weakly Supervised Semantic
Segmentation using Superpixel Pooling Network", AAAI 2017), methods.md §1."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.sp_cam import sp_cam_to_scores
from ..ops.superpixel_pool import (compact_superpixel_ids, paint_superpixels,
                                   resize_superpixels, superpixel_mean)
from ..utils import get_img_labels
from .base_weak_segmentor import BaseWeakSegmentor

SPN_SCALES = (250, 300, 350, 400, 450, 500)


def pad_to_square(inputs: Tensor, superpixels: Tensor) -> Tuple[Tensor,
                                                                Tensor]:
    """Pad a batch at the bottom/right to a square.

    Args:
        inputs (Tensor): (B, 3, H, W) normalised images (padded with 0,
            i.e. the mean colour).
        superpixels (Tensor): (B, H, W) ids (padded with -1 = none).

    Returns:
        tuple: (B, 3, S, S) and (B, S, S), S = max(H, W).
    """
    height, width = inputs.shape[-2:]
    side = max(height, width)
    if height == width:
        return inputs, superpixels
    pad = (0, side - width, 0, side - height)
    return F.pad(inputs, pad, value=0.0), F.pad(superpixels, pad, value=-1)


@MODELS.register_module()
class SPNSegmentor(BaseWeakSegmentor):
    """SPN: frozen VGG-16 with switches, unpooling upsampler, superpixel
    pooling head; SP-CAM at inference.

    ::

        loss(inputs, data_samples)
         ├─ batch-level pad to square and random square resize
         │    (train_cfg): images bilinear, superpixels nearest (-1 on
         │    padding) — one size per batch
         ├─ backbone (VGG16Switches) -> z, switches
         ├─ neck (SwitchUnpoolUpsampler) -> F (B, K, H/16, W/16)
         └─ head: SP branch (superpixel pooling -> mean -> FC) + GAP
              branch (GAP(z) -> FC), multi-label BCE on both

        predict(inputs, data_samples)
         ├─ for every test scale (and flip): per-superpixel SP-CAM scores
         │    (top FC on pooled vectors), superpixels nearest-resized
         ├─ fuse per superpixel by max over scales, paint back to pixels
         ├─ threshold at 50% of each present class's max (sp_cam_to_scores)
         └─ BaseWeakSegmentor.postprocess_scores (unpad, resize, labels)

    Every data sample must carry ``gt_superpixels`` (``LoadSuperpixels`` +
    ``PackWeakSegInputs``) of the same size as its image; a map smaller than
    the batch (the data preprocessor's bottom/right padding) is padded with
    -1 (no superpixel).

    ``train_cfg`` keys:

    - ``pad_to_square`` (bool): pad the batch (already padded to a common
      size by the data preprocessor, bottom/right) to a square, images with
      0 and superpixels with -1 (ignored by the pooling). Default True
      [paper: each image is padded to a square; here the batch is, which is
      the same for VOC's 500 x 375 / 375 x 500 images].
    - ``batch_sizes`` (Sequence[int] | None): square sizes, one drawn per
      batch (paper: 250..500 step 50); images bilinear, superpixels
      nearest, so they stay aligned and the batch stays stackable. None:
      keep the size. Default ``SPN_SCALES``.
    - ``flip_prob`` (float): horizontal flip of the whole batch [ours; the
      paper mentions none]. Default 0.

    The training pipeline therefore needs no geometric transform:
    ``LoadImageFromFile``, ``LoadImageLevelLabels``, ``LoadSuperpixels``,
    ``PackWeakSegInputs``.

    ``test_cfg`` keys (besides :class:`BaseWeakSegmentor`'s ``scales``,
    ``flip``, ``use_img_labels``, ``crf``; ``fusion`` is always max [paper]):

    - ``pad_to_square`` (bool): pad to a square before resizing to the
      scales, crop the result back. Default True [paper].
    - ``scales``: (h, w) pairs or floats; paper: six squares 250..500.
    - ``sp_cam_threshold`` (float): fraction of each class's max. 0.5.
    - ``presence`` (str): 'labels' uses ``gt_img_labels`` when the samples
      carry them and otherwise the SP-branch prediction
      (sigmoid > ``presence_threshold``); 'predicted' always predicts.
      Default 'labels' [ours: the paper always has labels].
    - ``presence_threshold`` (float): default 0.5.

    Args:
        backbone (dict): :class:`VGG16Switches` config.
        neck (dict): :class:`SwitchUnpoolUpsampler` config.
        decode_head (dict): :class:`SuperpixelPoolingHead` config;
            ``num_classes`` = ``num_classes - 1``.
        num_classes (int): Classes including background (VOC 21).
        train_cfg, test_cfg, data_preprocessor, init_cfg: As in mmseg.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 decode_head: ConfigType,
                 num_classes: int,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            num_classes=num_classes,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.decode_head = MODELS.build(decode_head)
        if self.decode_head.num_classes != num_classes - 1:
            raise ValueError(
                f'SPNSegmentor: decode_head.num_classes '
                f'({self.decode_head.num_classes}) must be num_classes - 1 '
                f'({num_classes - 1}): the head has no background output')
        self.train_cfg.setdefault('batch_sizes', SPN_SCALES)
        presence = self.test_cfg.get('presence', 'labels')
        if presence not in ('labels', 'predicted'):
            raise ValueError("SPNSegmentor test_cfg.presence must be "
                             f"'labels' or 'predicted', got {presence!r}")

    # ------------------------------------------------------------------ #
    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """Upsampled features and encoder feature.

        Args:
            inputs (Tensor): (B, 3, H, W).

        Returns:
            tuple: F (B, K, H/16, W/16) and z (B, C_z, H/32, W/32).
        """
        z, switches = self.backbone(inputs)
        feats = self.neck((z, switches))[0]
        return feats, z

    def _superpixels(self, data_samples: OptSampleList,
                     size: Sequence[int]) -> Tensor:
        """Stack the batch's superpixel maps at the input size.

        Args:
            data_samples (list[SegDataSample]): The batch.
            size (tuple[int, int]): (H, W) of the batch inputs.

        Returns:
            Tensor: (B, H, W) int64 per-image ids, -1 on batch padding.
        """
        if not data_samples:
            raise ValueError('SPNSegmentor needs data samples carrying '
                             'gt_superpixels')
        height, width = int(size[0]), int(size[1])
        maps = []
        for i, ds in enumerate(data_samples):
            name = ds.metainfo.get('img_path', f'sample #{i}')
            if 'gt_superpixels' not in ds:
                raise ValueError(
                    f'SPNSegmentor: no gt_superpixels for {name}; add '
                    'LoadSuperpixels to the pipeline (and create the cache '
                    'with tools/dataset_converters/make_superpixels.py)')
            sp = ds.gt_superpixels.data
            sp = sp[0] if sp.dim() == 3 else sp
            h, w = sp.shape[-2:]
            if (h, w) != (height, width):
                if h > height or w > width or tuple(
                        ds.metainfo.get('img_shape', (h, w))[:2]) != (h, w):
                    raise ValueError(
                        f'SPNSegmentor: superpixel map of {name} is {h}x{w} '
                        f'but the image is {height}x{width} (img_shape '
                        f'{ds.metainfo.get("img_shape")}); stale superpixel '
                        'cache or a transform that does not resize '
                        'gt_superpixels')
                sp = F.pad(sp, (0, width - w, 0, height - h), value=-1)
            maps.append(sp.long())
        return torch.stack(maps)

    # ------------------------------------------------------------------ #
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Multi-label losses of the SP and GAP branches.

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): with ``gt_img_labels`` and
                ``gt_superpixels``.

        Returns:
            dict[str, Tensor]: ``loss_sp`` and ``loss_gap``.
        """
        labels = get_img_labels(data_samples, required=True)[:, 1:]
        sp = self._superpixels(data_samples, inputs.shape[-2:]).to(
            inputs.device)
        if self.train_cfg.get('pad_to_square', True):
            inputs, sp = pad_to_square(inputs, sp)
        if torch.rand(()) < self.train_cfg.get('flip_prob', 0.0):
            inputs, sp = inputs.flip(-1), sp.flip(-1)
        sizes = self.train_cfg.get('batch_sizes')
        if sizes:
            pick = int(torch.randint(len(sizes), (1, )))
            side = int(sizes[pick])
            if tuple(inputs.shape[-2:]) != (side, side):
                inputs = F.interpolate(
                    inputs, size=(side, side), mode='bilinear',
                    align_corners=False)
                sp = resize_superpixels(sp, (side, side))
        ids, batch_idx, num = compact_superpixel_ids(sp)
        feats, z = self.extract_feat(inputs)
        sp_logits, gap_logits = self.decode_head(feats, z, ids, batch_idx,
                                                 num)
        return self.decode_head.loss_by_logits(sp_logits, gap_logits,
                                               labels.to(sp_logits))

    # ------------------------------------------------------------------ #
    def _scales(self, height: int, width: int,
                scales: Sequence) -> List[Tuple[int, int]]:
        out = []
        for s in scales:
            if isinstance(s, (int, float)):
                out.append((max(32, round(height * s)),
                            max(32, round(width * s))))
            else:
                out.append((int(s[0]), int(s[1])))
        return out

    def sp_cam(self, inputs: Tensor, data_samples: OptSampleList,
               scales: Sequence, flip: bool = False) -> Tensor:
        """SP-CAM scores fused by max over scales (and flips).

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): with ``gt_superpixels``.
            scales (list): (h, w) pairs or floats relative to (H, W).
            flip (bool): Add horizontal flips.

        Returns:
            Tensor: (B, num_classes, H, W) non-negative scores, background
            at 0 (see :func:`sp_cam_to_scores`).
        """
        batch, _, height, width = inputs.shape
        sp = self._superpixels(data_samples, (height, width)).to(
            inputs.device)
        if self.test_cfg.get('pad_to_square', True):
            inputs, sp = pad_to_square(inputs, sp)
        ids, batch_idx, num = compact_superpixel_ids(sp)
        side_h, side_w = inputs.shape[-2:]
        head = self.decode_head
        fused = None
        prob = None
        for size in self._scales(side_h, side_w, scales):
            x = inputs if size == (side_h, side_w) else F.interpolate(
                inputs, size=size, mode='bilinear', align_corners=False)
            ids_s = resize_superpixels(ids, size)
            for flipped in ((False, True) if flip else (False, )):
                xs = x.flip(-1) if flipped else x
                ids_f = ids_s.flip(-1) if flipped else ids_s
                feats, _ = self.extract_feat(xs)
                pooled, area = head.pool(feats, ids_f, num)
                scores = head.superpixel_scores(pooled)
                scores = scores.masked_fill((area == 0)[:, None],
                                            float('-inf'))
                fused = scores if fused is None else torch.maximum(
                    fused, scores)
                vec = superpixel_mean(pooled, batch_idx, batch,
                                      valid=area > 0)
                p = head.fc_sp(vec).sigmoid()
                prob = p if prob is None else torch.maximum(prob, p)
        # superpixels lost at every scale: the class's lowest score
        finite = torch.isfinite(fused)
        floor = torch.where(finite, fused,
                            torch.full_like(fused, float('inf'))).amin(0)
        floor = torch.where(torch.isfinite(floor), floor,
                            torch.zeros_like(floor))
        fused = torch.where(finite, fused, floor.expand_as(fused))
        cam = paint_superpixels(fused, ids[:, :height, :width],
                                fill=float(fused.min()))
        present = None
        if self.test_cfg.get('presence', 'labels') == 'labels':
            labels = get_img_labels(data_samples)
            if labels is not None:
                present = labels[:, 1:].to(cam.device) > 0
        if present is None:
            present = prob > self.test_cfg.get('presence_threshold', 0.5)
        return sp_cam_to_scores(
            cam, present, threshold=self.test_cfg.get('sp_cam_threshold',
                                                      0.5))

    def predict_scores(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """SP-CAM at the input scale (see :meth:`sp_cam`).

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): with ``gt_superpixels``.

        Returns:
            Tensor: (B, num_classes, H, W).
        """
        return self.sp_cam(inputs, data_samples, [tuple(inputs.shape[-2:])])

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Multi-scale SP-CAM labelling (max over scales per superpixel).

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): The batch.

        Returns:
            list[SegDataSample]: ``seg_logits`` and ``pred_sem_seg`` at
            ``ori_shape``.
        """
        cfg = self.test_cfg
        if cfg.get('fusion', 'max') != 'max':
            raise ValueError('SPNSegmentor fuses scales by max (SPN paper); '
                             f"test_cfg.fusion={cfg['fusion']!r}")
        scores = self.sp_cam(inputs, data_samples, cfg.get('scales', (1.0, )),
                             cfg.get('flip', False))
        return self.postprocess_scores(scores, data_samples)
