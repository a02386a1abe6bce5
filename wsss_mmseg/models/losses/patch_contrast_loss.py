"""Patch contrastive loss of APC (Wu et al., 2024; methods.md §3.3)."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.patch_contrast import patch_contrast_loss


@MODELS.register_module()
class PatchContrastLoss(nn.Module):
    """PCL: pull high-confidence patches of a class together, push them from
    the class's lowest-scoring patch (see :func:`patch_contrast_loss`).

    Args:
        tau (float): Confidence threshold of the high-confidence set.
            Default 0.85 [paper].
        include_background (bool): Also contrast the background class. Our
            reconstruction; default False.
        cross_class_negatives (bool): Also push high-confidence patches of
            different present classes apart. Our reconstruction; default
            False.
        loss_weight (float): lambda_1 of the paper's eq. 7. Default 0.02.
        max_patches (int): Refuse grids with more patches than this (the
            N x N similarity matrix grows as G^4: 24 x 24 = 576 patches is
            the training grid; 60 x 60 = 3600 is not meant for training).
            Default 1600.
        loss_name (str): Key in the loss dict. Default 'loss_pcl'.
    """

    def __init__(self,
                 tau: float = 0.85,
                 include_background: bool = False,
                 cross_class_negatives: bool = False,
                 loss_weight: float = 0.02,
                 max_patches: int = 1600,
                 loss_name: str = 'loss_pcl') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError("PatchContrastLoss: loss_name must start with "
                             f"'loss_', got {loss_name!r}")
        if not 0 <= tau < 1:
            raise ValueError(f'PatchContrastLoss: tau must be in [0, 1), got '
                             f'{tau}')
        self.tau = tau
        self.include_background = include_background
        self.cross_class_negatives = cross_class_negatives
        self.loss_weight = loss_weight
        self.max_patches = max_patches
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict."""
        return self._loss_name

    def forward(self,
                embeddings: Tensor,
                probs: Tensor,
                labels: Tensor,
                weight: Optional[Tensor] = None) -> Tensor:
        """Compute the weighted loss.

        Args:
            embeddings (Tensor): (B, D, h, w) or (B, N, D) patch embeddings.
            probs (Tensor): (B, C, h, w) or (B, N, C) patch probabilities
                (detached inside), background at 0.
            labels (Tensor): (B, C) multi-hot image labels.
            weight (Tensor, optional): Unused; kept for mmseg's loss API.

        Returns:
            Tensor: scalar ``loss_weight * L_PCL``.
        """
        if embeddings.dim() == 4:
            embeddings = embeddings.flatten(2).transpose(1, 2)
        if probs.dim() == 4:
            probs = probs.flatten(2).transpose(1, 2)
        if embeddings.shape[1] > self.max_patches:
            raise ValueError(
                f'PatchContrastLoss: {embeddings.shape[1]} patches exceed '
                f'max_patches={self.max_patches}; the O(N^2) similarity is '
                'meant for the training grid (e.g. 24 x 24). Train at a '
                'smaller input size or raise loss_pcl.max_patches')
        return self.loss_weight * patch_contrast_loss(
            embeddings,
            probs,
            labels,
            tau=self.tau,
            include_background=self.include_background,
            cross_class_negatives=self.cross_class_negatives)
