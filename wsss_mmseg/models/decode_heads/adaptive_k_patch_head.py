"""Patch classifier with adaptive-K pooling (APC, methods.md §3.1-3.2).

Wu et al., "Adaptive Patch Contrast for Weakly Supervised Semantic
Segmentation" (2024); the classifier and its L2 penalty follow ViT-PCM
(Rossetti et al., ECCV 2022) code.
"""
from typing import Dict, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.adaptive_k_pool import POOL_MODES, adaptive_k_pool


@MODELS.register_module()
class AdaptiveKPatchHead(BaseModule):
    """Per-patch softmax classifier over C+1 classes, pooled to the image.

    ``P = softmax_c(W^T dropout(z_i))`` for every patch i (linear, no bias,
    background at class 0), then :func:`adaptive_k_pool` gives image scores
    ``y`` (B, C+1) and the MCE loss is ``BCE(y, labels)`` with the
    background label always 1 (through ``loss_cls``, by default
    ``MultiLabelBCELoss(use_sigmoid=False)``, which clips the probabilities
    to [1e-7, 1 - 1e-7]).

    Args:
        in_channels (int): D of the patch embeddings (768 after HV-BiLSTM).
        num_classes (int): Classes including background (VOC 21).
        dropout (float): Dropout on the embeddings before the classifier.
            Default 0.2 [code, ViT-PCM].
        pool_mode (str): 'akp' (default), 'akp-ratio', 'topk', 'max' or
            'avg' (see :func:`adaptive_k_pool`).
        akp_delta (float): AKP threshold. Default 0.1 (our reading).
        akp_k_max (int): K_max of AKP, fixed K of 'topk'. Default 6.
        l2_weight (float): Weight of the penalty ``l2_weight * ||W||^2`` on
            the classifier weight (ViT-PCM uses 0.01). Default 0 (off).
        loss_cls (dict): Config of the multi-label loss on pooled
            probabilities.
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 dropout: float = 0.2,
                 pool_mode: str = 'akp',
                 akp_delta: float = 0.1,
                 akp_k_max: int = 6,
                 l2_weight: float = 0.0,
                 loss_cls: Dict = dict(
                     type='MultiLabelBCELoss',
                     use_sigmoid=False,
                     loss_weight=1.0,
                     loss_name='loss_mce'),
                 init_cfg=dict(type='Xavier', layer='Conv2d',
                               distribution='uniform')) -> None:
        super().__init__(init_cfg=init_cfg)
        if pool_mode not in POOL_MODES:
            raise ValueError(f'AdaptiveKPatchHead: pool_mode must be one of '
                             f'{POOL_MODES}, got {pool_mode!r}')
        if num_classes < 2:
            raise ValueError('AdaptiveKPatchHead: num_classes counts the '
                             f'background and must be >= 2, got {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.pool_mode = pool_mode
        self.akp_delta = akp_delta
        self.akp_k_max = akp_k_max
        self.l2_weight = l2_weight
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        self.loss_cls = MODELS.build(loss_cls)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Patch logits.

        Args:
            inputs (Tensor | tuple[Tensor]): (B, D, G_h, G_w) embeddings or
                a tuple whose last element is.

        Returns:
            Tensor: (B, C+1, G_h, G_w) logits.
        """
        x = inputs if isinstance(inputs, Tensor) else inputs[-1]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'AdaptiveKPatchHead expects (B, '
                             f'{self.in_channels}, H, W) embeddings, got '
                             f'{tuple(x.shape)}')
        logits = self.classifier(self.dropout(x))
        if not torch.isfinite(logits).all():
            raise FloatingPointError(
                'AdaptiveKPatchHead: the patch logits contain NaN or inf '
                '(diverged training or bad input); check the learning rate '
                'and the input images')
        return logits

    def patch_probs(self, logits: Tensor) -> Tensor:
        """Softmax over the classes: (B, C+1, h, w) -> (B, C+1, h, w)."""
        return logits.softmax(1)

    def pool(self, probs: Tensor) -> Tensor:
        """Image scores: (B, C+1, h, w) probabilities -> (B, C+1)."""
        return adaptive_k_pool(
            probs.flatten(2).transpose(1, 2),
            mode=self.pool_mode,
            delta=self.akp_delta,
            k_max=self.akp_k_max)

    def loss_by_probs(self, probs: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """MCE loss (and the L2 penalty) of a batch.

        Args:
            probs (Tensor): (B, C+1, h, w) patch probabilities.
            labels (Tensor): (B, C+1) multi-hot labels, background at 0.

        Returns:
            dict[str, Tensor]: ``loss_cls.loss_name`` (and ``loss_l2``).
        """
        if labels.shape != (probs.shape[0], self.num_classes):
            raise ValueError(f'AdaptiveKPatchHead: labels of shape '
                             f'{tuple(labels.shape)}, expected '
                             f'{(probs.shape[0], self.num_classes)}')
        labels = labels.clone()
        labels[:, 0] = 1
        scores = self.pool(probs)
        losses = {self.loss_cls.loss_name: self.loss_cls(scores, labels)}
        if self.l2_weight > 0:
            losses['loss_l2'] = self.l2_weight * self.classifier.weight.pow(
                2).sum()
        return losses

    def loss(self, inputs: Union[Tensor, Sequence[Tensor]],
             labels: Tensor) -> Dict[str, Tensor]:
        """Forward + :meth:`loss_by_probs`.

        Args:
            inputs (Tensor | tuple[Tensor]): (B, D, h, w) embeddings.
            labels (Tensor): (B, C+1) multi-hot labels, background at 0.

        Returns:
            dict[str, Tensor]: the losses.
        """
        return self.loss_by_probs(self.patch_probs(self.forward(inputs)),
                                  labels)

    def predict(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Patch probabilities (B, C+1, h, w) of (B, D, h, w) embeddings."""
        return self.patch_probs(self.forward(inputs))

