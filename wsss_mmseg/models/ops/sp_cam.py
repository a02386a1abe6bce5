"""SP-CAM: superpixel-level class activation (Kwak et al., AAAI 2017, §3.4),
methods.md §1.3.

1. Per-superpixel class scores: the top-branch classifier applied to every
   pooled superpixel vector, ``s_i = W z_i (+ b)`` (:func:`sp_class_scores`).
2. Scales fused by element-wise max (per superpixel, see the segmentor).
3. :func:`sp_cam_to_scores` turns the fused maps into a labelling: for each
   class present in the image, pixels with ``m_c(p) >= t * max_p m_c(p)``
   (``t = 0.5``) are candidates; a pixel that is a candidate for no class is
   background; several candidates -> the class with the highest
   max-normalised score ``m_c(p) / max m_c`` (the overlap rule is our
   reading).
"""
from typing import Optional

import torch
from torch import Tensor

__all__ = ['sp_class_scores', 'sp_cam_to_scores']


def sp_class_scores(pooled: Tensor,
                    weight: Tensor,
                    bias: Optional[Tensor] = None) -> Tensor:
    """Class scores of every superpixel, ``s_i = W z_i + b``.

    Args:
        pooled (Tensor): (M, K) superpixel features.
        weight (Tensor): (C, K) top-branch FC weights.
        bias (Tensor, optional): (C,) FC bias; None to leave it out.

    Returns:
        Tensor: (M, C) scores.
    """
    scores = pooled @ weight.t()
    return scores if bias is None else scores + bias


def sp_cam_to_scores(cam: Tensor,
                     present: Tensor,
                     threshold: float = 0.5,
                     eps: float = 0.0) -> Tensor:
    """Threshold SP-CAM maps at a fraction of each class's max.

    ``n_c = m_c / max_p m_c`` for a present class with a positive max;
    pixel ``p`` gets class ``argmax_c n_c(p)`` among the classes with
    ``n_c(p) >= threshold``, background if there is none. A present class
    whose map has no positive value (e.g. every superpixel scored negative)
    is normalised as ``(m_c - min) / (max - min)`` instead, and a constant
    map as 1 everywhere (every pixel attains the max) [ours: the paper's
    "50% of the max" is undefined for a non-positive max].

    Args:
        cam (Tensor): (B, C, H, W) fused SP-CAM scores of the foreground
            classes (no background channel), any sign.
        present (Tensor): (B, C) 0/1 (or bool) foreground classes present in
            each image.
        threshold (float): Fraction of the max (paper: 0.5).
        eps (float): A map whose max - min is <= eps counts as constant.

    Returns:
        Tensor: (B, C + 1, H, W) non-negative scores, background at channel
        0, whose argmax is the labelling above: foreground channel ``c`` is
        ``n_c`` where ``n_c >= threshold`` (0 elsewhere); the background
        channel is 1 where no class passes, 0 elsewhere.
    """
    if cam.dim() != 4:
        raise ValueError(f'cam must be (B, C, H, W), got {tuple(cam.shape)}')
    if present.shape != cam.shape[:2]:
        raise ValueError(f'present must be (B, C) = {tuple(cam.shape[:2])}, '
                         f'got {tuple(present.shape)}')
    flat = cam.flatten(2)
    cmax = flat.amax(2, keepdim=True).unsqueeze(-1)  # (B, C, 1, 1)
    cmin = flat.amin(2, keepdim=True).unsqueeze(-1)
    tiny = torch.finfo(cam.dtype).tiny
    by_max = cam.clamp(min=0) / cmax.clamp(min=tiny)
    spread = cmax - cmin
    by_range = torch.where(spread > eps, (cam - cmin) / spread.clamp(min=tiny),
                           torch.ones_like(cam))
    norm = torch.where(cmax > 0, by_max, by_range)
    keep = present.bool()[:, :, None, None] & (norm >= threshold)
    fg = torch.where(keep, norm, torch.zeros_like(norm))
    bg = (~keep.any(1, keepdim=True)).to(cam.dtype)
    return torch.cat([bg, fg], dim=1)
