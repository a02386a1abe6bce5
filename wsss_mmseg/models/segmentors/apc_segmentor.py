"""Single-stage APC segmentor (Wu et al., "Adaptive Patch Contrast for
Weakly Supervised Semantic Segmentation", 2024; methods.md §3)."""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.equivariance import make_mosaic, split_mosaic, warp
from ..ops.label_merging import merge_patch_labels, patch_to_pixel_labels
from ..utils import get_img_labels
from .base_weak_segmentor import BaseWeakSegmentor

OUTPUTS = ('decoder', 'patch')


@MODELS.register_module()
class APCSegmentor(BaseWeakSegmentor):
    """APC: ViT patch classification with adaptive-K pooling, patch
    contrast, and an MLP decoder trained online on patch-to-pixel labels.

    Training::

        loss(inputs, data_samples)
         ├─ backbone (ViT)  -> feats: tuple of (B, D, G, G), multi-level
         ├─ neck (HVBiLSTM, on feats[-1]) -> z (B, D', G, G)
         ├─ patch_head(z)   -> P (B, C+1, G, G) softmax
         │   └─ loss_mce = BCE(AKP(P), labels)      (+ loss_l2)
         ├─ loss_pcl(z, P.detach(), labels)          (lambda_1 = 0.02)
         ├─ optional loss_eq: P of a warped (mosaic) second view vs
         │   warp(merge(P.detach(), labels))   (ViT-PCM; off by default)
         └─ decode_head(feats) -> S (B, C+1, h, w)
             └─ loss_seg = CE(S, patch_to_pixel(merge(P.detach(), labels)))
                (lambda_2 = 0.01, zero weight before seg_loss_warmup_iters)

    Prediction (``predict_scores``, then :class:`BaseWeakSegmentor` does
    multi-scale/flip, resizing, label restriction and CRF)::

        test_cfg.output = 'decoder':  softmax(S)
        test_cfg.output = 'patch':    merge(P, gt_img_labels if known)

    ``train_cfg`` keys:

    - ``seg_loss_warmup_iters`` (int): training iterations before
      ``loss_seg`` is switched on (before that its weight is 0; it is still
      computed so that DDP sees every parameter used). Counted by a buffer
      saved in checkpoints. Our choice; default 0.
    - ``pseudo_label_conf_thresh`` (float): patches whose merged
      probability is below this are ignored (255) in ``loss_seg``.
      Default 0.9 — our reading of the paper's unnamed 0.9; 0 disables.

    ``test_cfg`` keys (besides the base class's):

    - ``output`` (str): 'decoder' (default) or 'patch'.
    - ``merge_labels`` (bool): label merging with ``gt_img_labels`` for
      the patch output when the samples carry them. Default True.

    Args:
        backbone (dict): ViT config (mmpretrain ``VisionTransformer``,
            ``out_type='featmap'``, ``out_indices`` for the decoder levels;
            the last index feeds the patch branch).
        neck (dict): :class:`HVBiLSTM` config.
        patch_head (dict): :class:`AdaptiveKPatchHead` config.
        num_classes (int): Classes including background.
        decode_head (dict, optional): MLP decoder config (mmseg
            ``SegformerHead``); None = patch branch only.
        loss_pcl (dict, optional): :class:`PatchContrastLoss` config; None
            disables PCL.
        loss_equivariance (dict, optional): :class:`PatchEquivarianceLoss`
            config (ViT-PCM's equivariance regulariser, not part of APC);
            None (default) disables it.
        train_cfg, test_cfg, data_preprocessor, init_cfg: As in mmseg.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 patch_head: ConfigType,
                 num_classes: int,
                 decode_head: OptConfigType = None,
                 loss_pcl: OptConfigType = None,
                 loss_equivariance: OptConfigType = None,
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
        self.patch_head = MODELS.build(patch_head)
        if self.patch_head.num_classes != num_classes:
            raise ValueError(
                f'APCSegmentor: patch_head.num_classes='
                f'{self.patch_head.num_classes} but num_classes={num_classes}')
        self.decode_head = None
        if decode_head is not None:
            self.decode_head = MODELS.build(decode_head)
            if self.decode_head.num_classes != num_classes:
                raise ValueError(
                    f'APCSegmentor: decode_head.num_classes='
                    f'{self.decode_head.num_classes} but num_classes='
                    f'{num_classes}')
            self.align_corners = self.decode_head.align_corners
        self.loss_pcl = MODELS.build(loss_pcl) if loss_pcl else None
        self.loss_equivariance = (MODELS.build(loss_equivariance)
                                  if loss_equivariance else None)
        output = self.test_cfg.get('output', 'decoder')
        if output not in OUTPUTS:
            raise ValueError(f'APCSegmentor: test_cfg.output must be one of '
                             f'{OUTPUTS}, got {output!r}')
        if output == 'decoder' and self.decode_head is None:
            raise ValueError("APCSegmentor: test_cfg.output='decoder' needs a "
                             "decode_head; set test_cfg.output='patch'")
        self.seg_loss_warmup_iters = int(
            self.train_cfg.get('seg_loss_warmup_iters', 0))
        self.pseudo_label_conf_thresh = float(
            self.train_cfg.get('pseudo_label_conf_thresh', 0.9))
        # training iterations seen (for the L_seg warm-up); in checkpoints
        self.register_buffer('train_iter', torch.zeros((), dtype=torch.long))

    @property
    def patch_size(self) -> Tuple[int, int]:
        """(h, w) pixels per patch of the backbone's patch embedding."""
        proj = getattr(getattr(self.backbone, 'patch_embed', None),
                       'projection', None)
        if proj is None:
            return (1, 1)
        s = proj.kernel_size
        return (s, s) if isinstance(s, int) else tuple(s)

    def _check_input(self, inputs: Tensor) -> None:
        ph, pw = self.patch_size
        if inputs.shape[-2] < ph or inputs.shape[-1] < pw:
            raise ValueError(
                f'APCSegmentor: input of size {tuple(inputs.shape[-2:])} is '
                f'smaller than one {ph}x{pw} patch; resize the images (the '
                'APC pipelines resize to a fixed square)')

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Multi-level ViT patch tokens.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: (B, D, H / p, W / p) per ``out_indices``.
        """
        self._check_input(inputs)
        return self.backbone(inputs)

    def _patch_branch(self, feats: Tuple[Tensor, ...]
                      ) -> Tuple[Tensor, Tensor]:
        """HV-BiLSTM embeddings (B, D', G, G) and probs (B, C+1, G, G)."""
        embeddings = self.neck(feats)[0]
        return embeddings, self.patch_head.predict(embeddings)

    @staticmethod
    def _check_labels(labels: Tensor, data_samples: SampleList) -> None:
        no_fg = labels[:, 1:].sum(1) <= 0
        if bool(no_fg.any()):
            names = [
                data_samples[i].metainfo.get('img_path', f'#{i}')
                for i in no_fg.nonzero()[:, 0].tolist()
            ]
            raise ValueError(
                f'APCSegmentor: images {names} have no foreground class in '
                'gt_img_labels (expected at least one of classes 1..C); '
                'remove them from the training list')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict:
        """Losses of a training batch.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample]): with ``gt_img_labels``.

        Returns:
            dict[str, Tensor]: ``loss_mce`` (+ ``loss_l2``), ``loss_pcl``,
            ``loss_seg`` and ``acc_seg`` (those enabled).
        """
        labels = get_img_labels(data_samples, required=True).to(inputs)
        if labels.shape[1] != self.num_classes:
            raise ValueError(
                f'APCSegmentor: gt_img_labels have {labels.shape[1]} classes,'
                f' the model num_classes={self.num_classes}')
        self._check_labels(labels, data_samples)
        feats = self.extract_feat(inputs)
        embeddings, probs = self._patch_branch(feats)
        losses = dict(self.patch_head.loss_by_probs(probs, labels))
        if self.loss_pcl is not None:
            losses[self.loss_pcl.loss_name] = self.loss_pcl(
                embeddings, probs, labels)
        if self.loss_equivariance is not None:
            losses[self.loss_equivariance.loss_name] = \
                self._equivariance_loss(inputs, probs, labels)
        if self.decode_head is not None:
            losses.update(
                self._seg_loss(feats, probs.detach(), labels, inputs))
        if self.training:
            self.train_iter += 1
        return losses

    def _equivariance_loss(self, inputs: Tensor, probs: Tensor,
                           labels: Tensor) -> Tensor:
        """Patch predictions of a warped second view against the first
        view's label-merged predictions moved by the same transform."""
        loss = self.loss_equivariance
        theta = loss.sample_transforms(inputs)
        view = warp(inputs, theta)
        if loss.mosaic:
            view = make_mosaic(view)
        _, probs_t = self._patch_branch(self.extract_feat(view))
        if loss.mosaic:
            probs_t = split_mosaic(probs_t)
        with torch.no_grad():
            merged = merge_patch_labels(probs.detach(), labels)
        return loss(probs_t, merged, theta)

    def pseudo_labels(self, probs: Tensor, labels: Tensor,
                      size: Tuple[int, int]) -> Tensor:
        """Online patch-to-pixel pseudo labels (methods.md §3.4, §3.1.8).

        Args:
            probs (Tensor): (B, C+1, G, G) patch probabilities.
            labels (Tensor): (B, C+1) image labels, background at 0.
            size (tuple[int, int]): (H, W) of the input.

        Returns:
            Tensor: (B, H, W) long, 255 where the patch is not confident.
        """
        with torch.no_grad():
            merged = merge_patch_labels(probs, labels)
            return patch_to_pixel_labels(
                merged, size, conf_thresh=self.pseudo_label_conf_thresh)

    def _seg_loss(self, feats: Tuple[Tensor, ...], probs: Tensor,
                  labels: Tensor, inputs: Tensor) -> Dict[str, Tensor]:
        pseudo = self.pseudo_labels(probs, labels, inputs.shape[-2:])
        samples = [
            SegDataSample(gt_sem_seg=PixelData(data=p[None])) for p in pseudo
        ]
        seg_logits = self.decode_head(feats)
        seg_losses = self.decode_head.loss_by_feat(seg_logits, samples)
        scale = 1.0 if int(self.train_iter) >= self.seg_loss_warmup_iters \
            else 0.0
        out = {}
        for name, value in seg_losses.items():
            out[name] = value * scale if name.startswith('loss') else value
        out['pseudo_label_ratio'] = (pseudo != 255).float().mean()
        return out

    def predict_scores(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Class scores of a batch at one scale.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch; their
                ``gt_img_labels`` drive label merging (patch output).

        Returns:
            Tensor: (B, C+1, H, W) non-negative scores.
        """
        feats = self.extract_feat(inputs)
        size = inputs.shape[-2:]
        if self.test_cfg.get('output', 'decoder') == 'decoder':
            logits = self.decode_head(feats)
            return F.interpolate(
                logits, size=size, mode='bilinear',
                align_corners=self.align_corners).softmax(1)
        _, probs = self._patch_branch(feats)
        labels = None
        if self.test_cfg.get('merge_labels', True):
            labels = get_img_labels(data_samples)
        if labels is not None:
            probs = merge_patch_labels(probs, labels.to(probs))
        # ViT-PCM upsamples the merged patch map with align_corners=True
        return F.interpolate(
            probs, size=size, mode='bilinear', align_corners=True)

