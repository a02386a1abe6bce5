"""An mmseg encoder-decoder with the weak-supervision prediction path.

Used as the refinement network trained on pseudo masks (SPN's iterative
refinement, methods.md §1.4; the last stage of PSA): training is exactly
mmseg's ``EncoderDecoder`` (decode head + optional auxiliary head losses on
``gt_sem_seg``), prediction goes through :class:`BaseWeakSegmentor`, so the
class probabilities can be restricted to ``gt_img_labels`` — a pseudo-label
round on the training split then never labels a class absent from the
image.
"""
from typing import List

import torch.nn as nn
import torch.nn.functional as F
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from .base_weak_segmentor import BaseWeakSegmentor


@MODELS.register_module()
class WeakEncoderDecoder(BaseWeakSegmentor):
    """Backbone (+ neck) + mmseg decode head, weak prediction path.

    ::

        loss(inputs, data_samples)            # as mmseg's EncoderDecoder
         └─ decode_head.loss (+ auxiliary_head.loss) on gt_sem_seg
        predict(inputs, data_samples)         # BaseWeakSegmentor
         └─ predict_scores = softmax(upsample(decode_head(x)))
             └─ multi-scale/flip, restriction to gt_img_labels, CRF

    Args:
        backbone (dict): Any mmseg/mmpretrain backbone.
        decode_head (dict): Any mmseg ``BaseDecodeHead``; its
            ``num_classes`` (background included) is the model's.
        neck (dict, optional): Neck.
        auxiliary_head (dict | list[dict], optional): Auxiliary heads.
        train_cfg, test_cfg, data_preprocessor, init_cfg: As in mmseg
            (``test_cfg`` keys of :class:`BaseWeakSegmentor`).
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        head = MODELS.build(decode_head)
        super().__init__(
            num_classes=head.num_classes,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self.decode_head = head
        self.align_corners = head.align_corners
        if auxiliary_head is not None:
            if isinstance(auxiliary_head, list):
                self.auxiliary_head = nn.ModuleList(
                    MODELS.build(cfg) for cfg in auxiliary_head)
            else:
                self.auxiliary_head = MODELS.build(auxiliary_head)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Backbone (+ neck) features."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Decode (and auxiliary) head losses on ``gt_sem_seg``.

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): with ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``decode.*`` and ``aux.*`` losses.
        """
        x = self.extract_feat(inputs)
        losses = {}
        loss = self.decode_head.loss(x, data_samples, self.train_cfg)
        losses.update({f'decode.{k}': v for k, v in loss.items()})
        if self.with_auxiliary_head:
            heads = self.auxiliary_head if isinstance(
                self.auxiliary_head, nn.ModuleList) else [self.auxiliary_head]
            for i, head in enumerate(heads):
                prefix = 'aux' if len(heads) == 1 else f'aux_{i}'
                loss = head.loss(x, data_samples, self.train_cfg)
                losses.update({f'{prefix}.{k}': v for k, v in loss.items()})
        return losses

    def predict_scores(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Class probabilities at the input size.

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Unused.

        Returns:
            Tensor: (B, num_classes, H, W) softmax probabilities.
        """
        logits = self.decode_head(self.extract_feat(inputs))
        logits = F.interpolate(logits, size=inputs.shape[-2:],
                               mode='bilinear',
                               align_corners=self.align_corners)
        return logits.softmax(1)
