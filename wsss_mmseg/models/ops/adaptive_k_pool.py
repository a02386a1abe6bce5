"""Adaptive-K pooling of patch class probabilities (APC, methods.md §3.2).

Wu et al., "Adaptive Patch Contrast for Weakly Supervised Semantic
Segmentation" (2024), section "Adaptive-K pooling"; the ``max``/``avg``/
``topk`` modes are the baselines of the paper's pooling ablation.
"""
import torch
from torch import Tensor

POOL_MODES = ('max', 'avg', 'topk', 'akp', 'akp-ratio')


def adaptive_k_select(sorted_scores: Tensor,
                      mode: str = 'akp',
                      delta: float = 0.1) -> Tensor:
    """Which of the top-``k`` sorted scores a pooling mode keeps.

    With ``s_1 >= s_2 >= ... >= s_k`` the sorted scores of one class:

    - ``akp``:       keep s_j iff ``s_1 - s_j <= delta``,
    - ``akp-ratio``: keep s_j iff ``s_j / s_1 >= delta`` (all if s_1 = 0),
    - ``topk``:      keep all k,
    - ``max``:       keep s_1 only.

    The first score is always kept, so ``K = mask.sum(-1) >= 1``. Because
    the scores are sorted, the kept set is always a prefix.

    Args:
        sorted_scores (Tensor): (..., k) scores sorted in descending order.
        mode (str): One of ``'max'``, ``'topk'``, ``'akp'``, ``'akp-ratio'``.
        delta (float): Threshold of the AKP modes.

    Returns:
        Tensor: (..., k) bool mask of the kept scores.
    """
    top = sorted_scores[..., :1]
    if mode == 'akp':
        mask = (top - sorted_scores) <= delta
    elif mode == 'akp-ratio':
        mask = sorted_scores >= delta * top
    elif mode == 'topk':
        mask = torch.ones_like(sorted_scores, dtype=torch.bool)
    elif mode == 'max':
        mask = torch.zeros_like(sorted_scores, dtype=torch.bool)
    else:
        raise ValueError(f'adaptive_k_select: unknown mode {mode!r}, '
                         f'expected one of {POOL_MODES}')
    mask[..., 0] = True
    return mask


def adaptive_k_pool(scores: Tensor,
                    mode: str = 'akp',
                    delta: float = 0.1,
                    k_max: int = 6,
                    return_k: bool = False) -> Tensor:
    """Pool per-patch class probabilities into image-level scores.

    APC's adaptive-K pooling (paper §3.2): per image b and class c, with
    ``s_1 >= s_2 >= ...`` the sorted patch scores of c,

    ``K_bc = #{ j <= K_max : s_1 - s_j <= delta }``  (>= 1),
    ``y_bc = (1 / K_bc) * sum_{j <= K_bc} s_j``.

    Gradients flow only into the K selected patches. Other modes:
    ``max`` (K = 1), ``avg`` (mean over all N patches), ``topk`` (fixed
    K = ``k_max``), ``akp-ratio`` (keep s_j with ``s_j / s_1 >= delta``).
    Vectorised: one ``topk`` over the patch axis, a mask and a masked mean.

    Args:
        scores (Tensor): (B, N, C) patch scores (probabilities), N patches.
        mode (str): One of :data:`POOL_MODES`.
        delta (float): AKP threshold (difference to the max for ``akp``,
            ratio to the max for ``akp-ratio``). Default 0.1 is our reading
            (the paper's table tries 0.05-0.12).
        k_max (int): Largest K (``akp``, ``akp-ratio``) or the fixed K
            (``topk``). Clipped to N. Default 6 [paper].
        return_k (bool): Also return the chosen K.

    Returns:
        Tensor | tuple[Tensor, Tensor]: (B, C) pooled scores; with
        ``return_k`` also (B, C) long K per image and class.
    """
    if mode not in POOL_MODES:
        raise ValueError(f'adaptive_k_pool: unknown mode {mode!r}, '
                         f'expected one of {POOL_MODES}')
    if scores.dim() != 3:
        raise ValueError('adaptive_k_pool expects (B, N, C) scores, got '
                         f'shape {tuple(scores.shape)}')
    if scores.shape[1] == 0:
        raise ValueError('adaptive_k_pool: no patches (N = 0)')
    if k_max < 1:
        raise ValueError(f'adaptive_k_pool: k_max must be >= 1, got {k_max}')
    num_patches = scores.shape[1]
    if mode == 'avg':
        pooled = scores.mean(1)
        k = torch.full_like(pooled, num_patches, dtype=torch.long)
        return (pooled, k) if return_k else pooled
    if mode == 'max':
        pooled = scores.max(1).values
        k = torch.ones_like(pooled, dtype=torch.long)
        return (pooled, k) if return_k else pooled
    kk = min(k_max, num_patches)
    top = scores.topk(kk, dim=1).values  # (B, kk, C), descending
    top = top.transpose(1, 2)  # (B, C, kk)
    mask = adaptive_k_select(top.detach(), mode, delta)
    k = mask.sum(-1)
    pooled = (top * mask).sum(-1) / k
    return (pooled, k) if return_k else pooled

