"""Equivariance regulariser of patch predictions (ViT-PCM; an option of APC,
off by default [ours]; methods.md §3.1)."""
from typing import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.equivariance import (equivariance_loss, equivariance_targets,
                                random_affine)


@MODELS.register_module()
class PatchEquivarianceLoss(nn.Module):
    """Second-view patch predictions vs the first view's, moved by the same
    random affine transform (see :mod:`~wsss_mmseg.models.ops.equivariance`).

    The segmentor makes the second view: it samples transforms with
    :meth:`sample_transforms`, warps the input, tiles the views into 2 x 2
    mosaics when ``mosaic`` is set (ViT-PCM), predicts its patches and calls
    this loss. The transform ranges are ours (ViT-PCM's data loader draws
    its own); the target is the first view's training-pass prediction,
    detached (ViT-PCM runs an extra pass without dropout for it).

    Args:
        scale (tuple[float, float]): Zoom range. Default (0.75, 1.25).
        max_rotate (float): Rotation range in degrees. Default 0.
        max_translate (float): Shift range (fraction of the half-size).
            Default 0.1.
        flip_prob (float): Horizontal flip probability. Default 0.5.
        mosaic (bool): Predict the second views as 2 x 2 mosaics of four
            images (the batch must be a multiple of 4). Default True.
        min_coverage (float): Second-view patches less covered by the
            first view are ignored. Default 0.99.
        loss_weight (float): Default 1.0 (ViT-PCM adds it unweighted).
        loss_name (str): Key in the loss dict. Default 'loss_eq'.
    """

    def __init__(self,
                 scale: Sequence[float] = (0.75, 1.25),
                 max_rotate: float = 0.0,
                 max_translate: float = 0.1,
                 flip_prob: float = 0.5,
                 mosaic: bool = True,
                 min_coverage: float = 0.99,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_eq') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError("PatchEquivarianceLoss: loss_name must start "
                             f"with 'loss_', got {loss_name!r}")
        if len(scale) != 2 or not 0 < scale[0] <= scale[1]:
            raise ValueError('PatchEquivarianceLoss: scale must be (low, '
                             f'high) with 0 < low <= high, got {scale}')
        self.scale = tuple(scale)
        self.max_rotate = max_rotate
        self.max_translate = max_translate
        self.flip_prob = flip_prob
        self.mosaic = mosaic
        self.min_coverage = min_coverage
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict."""
        return self._loss_name

    def sample_transforms(self, like: Tensor) -> Tensor:
        """(B, 2, 3) random transforms for a batch ``like`` (B, 3, H, W)."""
        if self.mosaic and like.shape[0] % 4:
            raise ValueError(
                'PatchEquivarianceLoss: mosaic=True tiles the second views '
                f'of 4 images, but the batch has {like.shape[0]} images per '
                'process; use a multiple of 4 or mosaic=False')
        return random_affine(
            like.shape[0], self.scale, self.max_rotate, self.max_translate,
            self.flip_prob, device=like.device, dtype=like.dtype)

    def forward(self, probs_t: Tensor, probs: Tensor,
                theta: Tensor) -> Tensor:
        """Compute the weighted loss.

        Args:
            probs_t (Tensor): (B, C, G, G) second-view patch probabilities.
            probs (Tensor): (B, C, G, G) first-view (label-merged) patch
                probabilities; detached inside.
            theta (Tensor): (B, 2, 3) transforms of the second view.

        Returns:
            Tensor: scalar ``loss_weight * L_eq``.
        """
        if probs_t.shape != probs.shape:
            raise ValueError(
                f'PatchEquivarianceLoss: second-view predictions '
                f'{tuple(probs_t.shape)} and first-view '
                f'{tuple(probs.shape)} differ in shape')
        with torch.no_grad():
            targets, valid = equivariance_targets(probs, theta,
                                                  self.min_coverage)
        return self.loss_weight * equivariance_loss(probs_t, targets, valid)
