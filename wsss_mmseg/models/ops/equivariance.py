"""Equivariance regularisation of patch predictions (ViT-PCM, Rossetti et
al., ECCV 2022, "equivariant regularisation"; methods.md §3.1, an option of
APC, off by default [ours]).

A second view of each image is made by a random affine transform ``A``; the
patch predictions of the second view should equal the first view's
predictions transformed by ``A``::

    L_eq = mean_{valid patches} CE( sg(A(merge(P(x), y))), P(A(x)) )

with ``sg`` stop-gradient and ``merge`` the label merging of
:func:`~.label_merging.merge_patch_labels`. ViT-PCM also tiles the second
views of four images into one 2 x 2 mosaic, so a patch is predicted with
other images around it (:func:`make_mosaic`).

Transforms are (B, 2, 3) matrices in the normalised coordinates of
:func:`torch.nn.functional.affine_grid` (``align_corners=False``): the same
matrix warps an image and its patch grid consistently.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def random_affine(batch: int,
                  scale: Sequence[float] = (0.75, 1.25),
                  max_rotate: float = 0.0,
                  max_translate: float = 0.1,
                  flip_prob: float = 0.5,
                  device: Optional[torch.device] = None,
                  dtype: torch.dtype = torch.float32,
                  generator: Optional[torch.Generator] = None) -> Tensor:
    """Random similarity transforms (zoom, rotation, shift, h-flip).

    ``theta`` maps output coordinates to input coordinates, as
    :func:`torch.nn.functional.affine_grid` expects: a zoom ``s > 1``
    magnifies (samples a window of ``1/s`` of the image).

    Args:
        batch (int): Number of transforms B.
        scale (tuple[float, float]): Zoom range.
        max_rotate (float): Rotation range in degrees (+-).
        max_translate (float): Shift range as a fraction of the half-size
            (+-, normalised coordinates).
        flip_prob (float): Probability of a horizontal flip.
        device, dtype: Of the result.
        generator (torch.Generator, optional): On CPU, for reproducibility.

    Returns:
        Tensor: (B, 2, 3) matrices.
    """
    def uniform(low: float, high: float) -> Tensor:
        u = torch.rand(batch, generator=generator)
        return (low + (high - low) * u).to(device=device, dtype=dtype)

    zoom = uniform(scale[0], scale[1])
    angle = uniform(-max_rotate, max_rotate) * (math.pi / 180)
    flip = (torch.rand(batch, generator=generator) < flip_prob).to(
        device=device, dtype=dtype) * -2 + 1
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([
        torch.stack([cos * flip, -sin, uniform(-max_translate,
                                               max_translate)], 1),
        torch.stack([sin * flip, cos, uniform(-max_translate,
                                              max_translate)], 1)
    ], 1)
    return theta


def warp(x: Tensor, theta: Tensor, mode: str = 'bilinear') -> Tensor:
    """Apply (B, 2, 3) transforms to (B, C, H, W) maps, zeros outside.

    Args:
        x (Tensor): (B, C, H, W) images or patch maps.
        theta (Tensor): (B, 2, 3) from :func:`random_affine`.
        mode (str): Interpolation of :func:`F.grid_sample`.

    Returns:
        Tensor: (B, C, H, W) warped maps.
    """
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(
        x, grid, mode=mode, padding_mode='zeros', align_corners=False)


def make_mosaic(x: Tensor) -> Tensor:
    """Tile groups of four maps into 2 x 2 mosaics (ViT-PCM).

    Args:
        x (Tensor): (4n, C, H, W), images ``4i .. 4i+3`` form mosaic ``i``
            in reading order.

    Returns:
        Tensor: (n, C, 2H, 2W).
    """
    b, c, h, w = x.shape
    if b % 4:
        raise ValueError(f'make_mosaic needs a multiple of 4 maps, got {b}')
    x = x.reshape(b // 4, 2, 2, c, h, w).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b // 4, c, 2 * h, 2 * w)


def split_mosaic(x: Tensor) -> Tensor:
    """Inverse of :func:`make_mosaic`: (n, C, 2H, 2W) -> (4n, C, H, W)."""
    n, c, h2, w2 = x.shape
    if h2 % 2 or w2 % 2:
        raise ValueError(f'split_mosaic needs an even size, got {h2}x{w2}')
    x = x.reshape(n, c, 2, h2 // 2, 2, w2 // 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(4 * n, c, h2 // 2, w2 // 2)


def equivariance_targets(probs: Tensor, theta: Tensor,
                         min_coverage: float = 0.99
                         ) -> Tuple[Tensor, Tensor]:
    """First-view patch predictions moved into the second view's frame.

    Args:
        probs (Tensor): (B, C, G, G) (merged) patch probabilities of the
            first view; detached here.
        theta (Tensor): (B, 2, 3) transforms of the second view.
        min_coverage (float): A second-view patch is valid when at least
            this fraction of it comes from inside the first view.

    Returns:
        tuple[Tensor, Tensor]: targets (B, C, G, G) renormalised over C,
        and the valid mask (B, G, G) bool.
    """
    probs = probs.detach()
    moved = warp(probs, theta)
    coverage = warp(torch.ones_like(probs[:, :1]), theta)[:, 0]
    targets = moved / moved.sum(1, keepdim=True).clamp_min(1e-12)
    return targets, coverage >= min_coverage


def equivariance_loss(probs_t: Tensor,
                      targets: Tensor,
                      valid: Tensor,
                      eps: float = 1e-8) -> Tensor:
    """Soft cross-entropy between second-view predictions and the moved
    first-view targets, averaged over the valid patches (0 if none).

    Args:
        probs_t (Tensor): (B, C, G, G) second-view patch probabilities.
        targets (Tensor): (B, C, G, G) from :func:`equivariance_targets`.
        valid (Tensor): (B, G, G) bool.
        eps (float): Added inside the log.

    Returns:
        Tensor: scalar loss.
    """
    ce = -(targets * torch.log(probs_t + eps)).sum(1)
    valid = valid.to(ce.dtype)
    return (ce * valid).sum() / valid.sum().clamp_min(1.0)
