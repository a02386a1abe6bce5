"""Patch-to-pixel labels of ViT-PCM / APC (methods.md §3.4).

Rossetti et al., "Max Pooling with Vision Transformers Reconciles Class
and Shape in Weakly Supervised Semantic Segmentation" (ECCV 2022), code:
label merging of the patch probabilities; used by APC (Wu et al., 2024) to
build online pseudo labels for its decoder.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with 0 where ``den == 0`` (0/0 -> 0)."""
    return torch.where(den > 0, num / den.clamp(min=torch.finfo(
        num.dtype).tiny), torch.zeros_like(num))


def merge_patch_labels(probs: Tensor, labels: Optional[Tensor] = None) -> Tensor:
    """Label merging of patch probabilities (ViT-PCM code).

    ``M_c = y_c * P_c``, then ``M_c <- M_c / max_{patches} M_c``, then
    ``M_c <- M_c / sum_{c'} M_c'`` per patch; every 0/0 gives 0. Without
    labels (``labels=None``) the probabilities are returned unchanged.

    Args:
        probs (Tensor): (B, C, h, w) patch probabilities, background at 0.
        labels (Tensor, optional): (B, C) multi-hot image labels,
            background at 0 (1).

    Returns:
        Tensor: (B, C, h, w) merged scores in [0, 1], summing to 1 over C
        (or 0 where every class is 0).
    """
    if probs.dim() != 4:
        raise ValueError('merge_patch_labels expects (B, C, h, w) probs, '
                         f'got {tuple(probs.shape)}')
    if labels is None:
        return probs
    if labels.shape != probs.shape[:2]:
        raise ValueError(f'merge_patch_labels: labels {tuple(labels.shape)} '
                         f'do not match probs {tuple(probs.shape[:2])}')
    merged = probs * labels.to(probs)[:, :, None, None]
    peak = merged.flatten(2).max(-1).values[:, :, None, None]
    merged = _safe_div(merged, peak)
    return _safe_div(merged, merged.sum(1, keepdim=True))


def patch_to_pixel_labels(merged: Tensor,
                          size: Sequence[int],
                          conf_thresh: float = 0.0,
                          ignore_index: int = 255) -> Tensor:
    """Paint each patch's argmax class onto its pixels (APC's pseudo label).

    ``label(p) = argmax_c M_c(patch(p))``, set to ``ignore_index`` where
    ``max_c M_c(patch(p)) < conf_thresh``. The patch grid is expanded to
    ``size`` by nearest interpolation, which paints every pixel of a
    patch when ``size`` is a multiple of the grid.

    Args:
        merged (Tensor): (B, C, h, w) merged patch scores
            (:func:`merge_patch_labels`).
        size (tuple[int, int]): Output (H, W) in pixels.
        conf_thresh (float): Confidence below which a patch is ignored;
            0 keeps all.
        ignore_index (int): Label of ignored pixels.

    Returns:
        Tensor: (B, H, W) long labels.
    """
    if merged.dim() != 4:
        raise ValueError('patch_to_pixel_labels expects (B, C, h, w) scores, '
                         f'got {tuple(merged.shape)}')
    conf, label = merged.max(1)
    label = label.masked_fill(conf < conf_thresh, ignore_index)
    label = F.interpolate(
        label[:, None].float(), size=tuple(size), mode='nearest')
    return label[:, 0].long()
