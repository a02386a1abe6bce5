"""Generic multi-scale + flip test-time fusion (methods.md §0.3)."""
from typing import Callable, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

Scale = Union[float, Tuple[int, int]]
FUSIONS = ('sum', 'mean', 'max')


def multi_scale_flip(score_fn: Callable[[Tensor], Tensor],
                     inputs: Tensor,
                     scales: Sequence[Scale] = (1.0, ),
                     flip: bool = False,
                     fusion: str = 'sum',
                     align_corners: bool = False) -> Tensor:
    """Fuse class score maps computed at several scales and flips.

    ``S = fuse_{s in scales, f in flips} up(unflip_f(score_fn(flip_f(
    resize_s(x)))))``: every map is resized bilinearly back to the input
    size and un-flipped before fusion.

    Args:
        score_fn (Callable): (B, 3, h, w) -> (B, C, h', w') scores.
        inputs (Tensor): (B, 3, H, W) normalised images.
        scales (list): Each a float (relative to H, W; PSA: 1, 0.5, 1.5,
            2) or an (h, w) pair in pixels (SPN: square 250..500).
        flip (bool): Also run on the horizontally flipped input.
        fusion (str): 'sum' (PSA), 'mean', or 'max' (SPN).
        align_corners (bool): For the resizes.

    Returns:
        Tensor: (B, C, H, W) fused scores.
    """
    if fusion not in FUSIONS:
        raise ValueError(f'fusion must be one of {FUSIONS}, got {fusion!r}')
    if len(scales) == 0:
        raise ValueError('multi_scale_flip needs at least one scale')
    height, width = inputs.shape[-2:]
    fused = None
    count = 0
    for scale in scales:
        if isinstance(scale, (int, float)):
            size = (max(1, round(height * scale)), max(1, round(width * scale)))
        else:
            size = (int(scale[0]), int(scale[1]))
        x = inputs if size == (height, width) else F.interpolate(
            inputs, size=size, mode='bilinear', align_corners=align_corners)
        for flipped in ((False, True) if flip else (False, )):
            out = score_fn(x.flip(-1) if flipped else x)
            out = F.interpolate(
                out, size=(height, width), mode='bilinear',
                align_corners=align_corners)
            if flipped:
                out = out.flip(-1)
            count += 1
            if fused is None:
                fused = out
            elif fusion == 'max':
                fused = torch.maximum(fused, out)
            else:
                fused = fused + out
    return fused / count if fusion == 'mean' else fused
