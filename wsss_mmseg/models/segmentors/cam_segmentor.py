"""CAM classifier-segmentor: the baseline trained from image-level labels.

Zhou et al., "Learning Deep Features for Discriminative Localization",
CVPR 2016; inference as in PSA's released code (methods.md §2.3).
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.cam import cam_background, multi_scale_cam, normalize_cam_by_max
from ..utils import get_img_labels
from .base_weak_segmentor import BaseWeakSegmentor


@MODELS.register_module()
class CAMSegmentor(BaseWeakSegmentor):
    """Backbone (+ neck) -> :class:`CAMHead`, segmenting with its CAMs.

    ::

        loss(inputs, data_samples)
         └─ extract_feat -> decode_head.loss    # BCE vs labels[:, 1:]

        predict(inputs, data_samples)
         └─ predict_cams                         # methods.md §2.3
             ├─ multi_scale_cam                  #   scales x flips, summed,
             │                                   #   absent classes zeroed
             └─ normalize_cam_by_max             #   per class, over the image
         └─ cam_background -> [bg; M_c]          # (B, num_classes, H, W)
         └─ postprocess_scores                   # unpad, unflip, resize,
                                                 # label restriction, CRF,
                                                 # argmax -> pred_sem_seg

    Prediction overrides the base class's generic multi-scale path because
    PSA sums the *raw* CAMs of all scales and normalises once (§2.3);
    normalising each scale first would change the result.

    ``test_cfg`` keys (all optional):

    - ``scales`` (list): Relative scales or (h, w) sizes. Default (1.0, );
      PSA uses (1.0, 0.5, 1.5, 2.0).
    - ``flip`` (bool): Add h-flipped inputs. Default False (PSA: True).
      The maps are always *summed* (§2.3); ``fusion`` of the base class is
      not used (after max normalisation 'mean' would give the same maps).
    - ``use_img_labels`` (bool): When the batch carries ``gt_img_labels``
      (train splits), zero absent classes before normalising and in the
      output. Default True.
    - ``cls_score_thresh`` (float | None): For images *without* labels
      (val/test splits, or ``use_img_labels=False``), zero the classes
      whose classifier score ``sigmoid(logit)`` (at the first test scale)
      is below this threshold, as if absent from a label; max normalisation
      would otherwise stretch every absent class's weak CAM to 1. None keeps all classes (PSA's
      behaviour, meant for labelled images). Default None. This is our
      reconstruction, not part of PSA's released code.
    - ``bg_mode`` (str): Background score rule, ``'constant'`` (PSA's
      CAM-only pseudo masks) or ``'power'`` (``(1 - max_c M_c)^alpha``).
      Default 'constant'.
    - ``bg_thresh`` (float): Constant background score. Default 0.2.
    - ``bg_alpha`` (float): Exponent of the power rule. Default 16.
    - ``crf``, ``crf_workers``: see :class:`BaseWeakSegmentor`.

    Args:
        backbone (dict): Backbone config.
        decode_head (dict): :class:`CAMHead` config; its ``num_classes``
            (with background) is the model's.
        neck (dict, optional): Neck config.
        train_cfg, test_cfg (dict, optional): See above.
        data_preprocessor (dict, optional): As in mmseg.
        pretrained (str, optional): Backbone checkpoint (deprecated form of
            the backbone's ``init_cfg``).
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if 'num_classes' not in decode_head:
            raise KeyError('CAMSegmentor: model.decode_head.num_classes '
                           '(classes with background) is required')
        super().__init__(
            num_classes=decode_head['num_classes'],
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if pretrained is not None:
            backbone = dict(backbone)
            backbone['init_cfg'] = dict(
                type='Pretrained', checkpoint=pretrained)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.decode_head = MODELS.build(decode_head)
        bg_mode = self.test_cfg.get('bg_mode', 'constant')
        if bg_mode not in ('constant', 'power'):
            raise ValueError("CAMSegmentor: test_cfg.bg_mode must be "
                             f"'constant' or 'power', got {bg_mode!r}")

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone (+ neck) features.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: Feature maps, each (B, K_i, h_i, w_i).
        """
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return tuple(x) if isinstance(x, (list, tuple)) else (x, )

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Classification loss from the image-level labels.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample]): Carry ``gt_img_labels``.

        Returns:
            dict[str, Tensor]: ``loss_cls`` (or the loss's ``loss_name``)
            and ``acc_cls``.
        """
        return self.decode_head.loss(
            self.extract_feat(inputs), data_samples, self.train_cfg)

    def _fg_labels(self, data_samples: OptSampleList) -> Optional[Tensor]:
        """(B, C_fg) foreground labels if known and used, else None."""
        if not self.test_cfg.get('use_img_labels', True):
            return None
        labels = get_img_labels(data_samples)
        if labels is None:
            return None
        if labels.shape[1] != self.num_classes:
            raise ValueError(
                f'image labels have {labels.shape[1]} classes but the model '
                f'predicts {self.num_classes}: dataset and model class counts'
                ' differ')
        return labels[:, 1:]

    @staticmethod
    def _valid_mask(inputs: Tensor,
                    data_samples: OptSampleList) -> Optional[Tensor]:
        """(B, 1, H, W) mask of the non-padded pixels, None if no padding."""
        if not data_samples:
            return None
        height, width = inputs.shape[-2:]
        mask = inputs.new_ones((len(inputs), 1, height, width),
                               dtype=torch.bool)
        padded = False
        for i, ds in enumerate(data_samples):
            meta = ds.metainfo
            left, right, top, bottom = meta.get(
                'img_padding_size', meta.get('padding_size', [0, 0, 0, 0]))
            if left or right or top or bottom:
                padded = True
                mask[i] = False
                mask[i, :, top:height - bottom, left:width - right] = True
        return mask if padded else None

    def predict_cams(self,
                     inputs: Tensor,
                     data_samples: OptSampleList = None,
                     scales: Optional[List] = None,
                     flip: Optional[bool] = None) -> Tensor:
        """Normalised CAMs ``M_c`` in [0, 1] on the input grid (§2.3).

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch; its
                ``gt_img_labels`` zero absent classes (``use_img_labels``),
                its padding is excluded from the maxima.
            scales (list, optional): Overrides ``test_cfg.scales``.
            flip (bool, optional): Overrides ``test_cfg.flip``.

        Returns:
            Tensor: (B, C_fg, H, W) max-normalised CAMs.
        """
        fg_labels = self._fg_labels(data_samples)
        score_thresh = self.test_cfg.get('cls_score_thresh', None)
        logits = []

        def cam_fn(x: Tensor) -> Tensor:
            feats = self.extract_feat(x)
            if not logits:  # the first pass: first scale, not flipped
                logits.append(self.decode_head(feats))
            return self.decode_head.cams(feats)

        summed = multi_scale_cam(
            cam_fn,
            inputs,
            fg_labels=fg_labels,
            scales=scales if scales is not None else self.test_cfg.get(
                'scales', (1.0, )),
            flip=flip if flip is not None else self.test_cfg.get(
                'flip', False),
            align_corners=self.align_corners)
        if fg_labels is None and score_thresh is not None:
            present = logits[0].sigmoid() >= score_thresh
            summed = summed * present.to(summed)[..., None, None]
        return normalize_cam_by_max(
            summed, valid_mask=self._valid_mask(inputs, data_samples))

    def cams_to_scores(self, cams: Tensor) -> Tensor:
        """Prepend the background score of ``test_cfg.bg_mode``.

        Args:
            cams (Tensor): (B, C_fg, H, W) max-normalised CAMs.

        Returns:
            Tensor: (B, num_classes, H, W) scores, background at 0.
        """
        cfg = self.test_cfg
        bg = cam_background(
            cams,
            mode=cfg.get('bg_mode', 'constant'),
            thresh=cfg.get('bg_thresh', 0.2),
            alpha=cfg.get('bg_alpha', 16.0))
        return torch.cat([bg, cams], dim=1)

    def predict_scores(self,
                       inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Single-scale scores ``[bg; M_c]`` (no flip).

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            Tensor: (B, num_classes, H, W) non-negative scores.
        """
        return self.cams_to_scores(
            self.predict_cams(inputs, data_samples, scales=(1.0, ),
                              flip=False))

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Segment a batch with its CAMs (multi-scale + flip per test_cfg).

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            list[SegDataSample]: ``seg_logits`` ((num_classes, H0, W0)
            scores ``[bg; M_c]``) and ``pred_sem_seg`` ((1, H0, W0)).
        """
        scores = self.cams_to_scores(self.predict_cams(inputs, data_samples))
        return self.postprocess_scores(scores, data_samples)
