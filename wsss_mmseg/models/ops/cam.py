"""Class activation maps (CAM) and the PSA CAM inference rules.

CAM: Zhou et al., "Learning Deep Features for Discriminative Localization",
CVPR 2016 (eq. 2: ``M_c(x, y) = sum_k w_k^c f_k(x, y)``). The inference rules
(ReLU, multi-scale + flip summation, per-class max normalisation, background
scores) follow the released code of AffinityNet/PSA (Ahn & Kwak, CVPR 2018);
see ``methods.md`` §2.2-§2.3 and §2.1 step 2.

Every function is pure and vectorised over the batch and the classes.
"""
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

from .multi_scale import Scale, multi_scale_flip

#: Default scales of PSA's CAM inference (methods.md §2.3) [code].
PSA_CAM_SCALES = (1.0, 0.5, 1.5, 2.0)


def class_activation_map(feats: Tensor,
                         weight: Tensor,
                         bias: Optional[Tensor] = None,
                         use_sqrt: bool = False) -> Tensor:
    """CAM of every class at every location (CAM eq. 2, methods.md §2.2).

    ``M_c(p) = ReLU(sum_k W[c, k] f_k(p) (+ b_c))``; with ``use_sqrt`` (the
    VGG-16 variant of PSA [code]) ``M_c(p) = sqrt(ReLU(...))``.

    Args:
        feats (Tensor): (B, K, h, w) feature map that feeds the classifier.
        weight (Tensor): (C, K) or (C, K, 1, 1) classifier weights.
        bias (Tensor, optional): (C, ) classifier bias; PSA's classifier has
            none (the CAM then ignores it).
        use_sqrt (bool): Take the square root of the rectified map.

    Returns:
        Tensor: (B, C, h, w) non-negative class activation maps.
    """
    if feats.dim() != 4:
        raise ValueError('class_activation_map expects feats of shape '
                         f'(B, K, h, w), got {tuple(feats.shape)}')
    weight = weight.reshape(weight.shape[0], -1)
    if weight.shape[1] != feats.shape[1]:
        raise ValueError(f'classifier weight has {weight.shape[1]} input '
                         f'channels but feats have {feats.shape[1]}')
    cams = torch.einsum('ck,bkhw->bchw', weight.to(feats), feats)
    if bias is not None:
        cams = cams + bias.to(feats)[None, :, None, None]
    cams = cams.clamp(min=0)
    return cams.sqrt() if use_sqrt else cams


def normalize_cam_by_max(cams: Tensor,
                         valid_mask: Optional[Tensor] = None,
                         eps: float = 1e-5) -> Tensor:
    """Divide each class map by its spatial maximum (methods.md §2.3).

    ``M_c = S_c / (max_p S_c(p) + eps)``, so present classes lie in [0, 1)
    and all-zero (absent) classes stay 0.

    Args:
        cams (Tensor): (B, C, H, W) non-negative maps.
        valid_mask (Tensor, optional): (B, 1, H, W) or (B, H, W) bool; the
            maximum is taken over valid pixels only (e.g. excluding batch
            padding). Invalid pixels are set to 0.
        eps (float): Added to the maximum (PSA: 1e-5).

    Returns:
        Tensor: (B, C, H, W) normalised maps.
    """
    if valid_mask is not None:
        if valid_mask.dim() == 3:
            valid_mask = valid_mask[:, None]
        cams = cams * valid_mask.to(cams)
    peak = cams.flatten(2).amax(dim=2)[..., None, None]
    return cams / (peak + eps)


def constant_background(cams: Tensor, thresh: float = 0.2) -> Tensor:
    """Constant background score (PSA CAM-only pseudo masks, methods.md §2.3).

    ``M_bg(p) = thresh``: a pixel is background unless some normalised
    class score exceeds ``thresh``.

    Args:
        cams (Tensor): (B, C, H, W) max-normalised CAMs (only the shape,
            dtype and device are used).
        thresh (float): The background score (PSA: 0.2).

    Returns:
        Tensor: (B, 1, H, W) filled with ``thresh``.
    """
    b, _, h, w = cams.shape
    return cams.new_full((b, 1, h, w), float(thresh))


def power_background(cams: Tensor, alpha: float) -> Tensor:
    """PSA background ``M_bg = (1 - max_c M_c)^alpha`` (methods.md §2.1).

    Low alpha (4) widens the background, high alpha (16, 32) shrinks it.

    Args:
        cams (Tensor): (B, C, H, W) max-normalised CAMs in [0, 1].
        alpha (float): The exponent.

    Returns:
        Tensor: (B, 1, H, W) background scores in [0, 1]. With no classes
        (C = 0) the background score is 1 everywhere.
    """
    if cams.shape[1] == 0:
        b, _, h, w = cams.shape
        return cams.new_ones((b, 1, h, w))
    peak = cams.amax(dim=1, keepdim=True).clamp(0, 1)
    return (1 - peak).pow(alpha)


def cam_background(cams: Tensor,
                   mode: str = 'constant',
                   thresh: float = 0.2,
                   alpha: float = 16.0) -> Tensor:
    """Background score by name (config front-end of the two rules).

    Args:
        cams (Tensor): (B, C, H, W) max-normalised CAMs.
        mode (str): ``'constant'`` (:func:`constant_background`) or
            ``'power'`` (:func:`power_background`).
        thresh (float): For ``'constant'``.
        alpha (float): For ``'power'``.

    Returns:
        Tensor: (B, 1, H, W) background scores.
    """
    if mode == 'constant':
        return constant_background(cams, thresh)
    if mode == 'power':
        return power_background(cams, alpha)
    raise ValueError("background mode must be 'constant' or 'power', got "
                     f'{mode!r}')


def multi_scale_cam(cam_fn: Callable[[Tensor], Tensor],
                    inputs: Tensor,
                    fg_labels: Optional[Tensor] = None,
                    scales: Sequence[Scale] = PSA_CAM_SCALES,
                    flip: bool = True,
                    align_corners: bool = False) -> Tensor:
    """PSA's multi-scale + flip CAM *summation* (methods.md §2.3) [code].

    ``S_c = y_c * sum_{s, f} unflip_f(up(CAM_c(flip_f(resize_s(x)))))``:
    every CAM is upsampled bilinearly to the input size, flips are undone,
    the maps are summed and classes absent from the image label are zeroed
    (zeroing the sum equals zeroing each map, the sum being linear).
    Normalise the result with :func:`normalize_cam_by_max`.

    Args:
        cam_fn (Callable): (B, 3, h, w) images -> (B, C, h', w') CAMs.
        inputs (Tensor): (B, 3, H, W) normalised images.
        fg_labels (Tensor, optional): (B, C) multi-hot *foreground* labels
            (background dropped); None keeps every class.
        scales (list): Relative scales or (h, w) sizes.
        flip (bool): Add horizontally flipped inputs.
        align_corners (bool): For the resizes.

    Returns:
        Tensor: (B, C, H, W) summed CAMs.
    """
    summed = multi_scale_flip(
        cam_fn,
        inputs,
        scales=scales,
        flip=flip,
        fusion='sum',
        align_corners=align_corners)
    if fg_labels is not None:
        if fg_labels.shape != summed.shape[:2]:
            raise ValueError(
                f'fg_labels of shape {tuple(fg_labels.shape)} do not match '
                f'the CAMs (batch, classes) = {tuple(summed.shape[:2])}')
        summed = summed * fg_labels.to(summed)[..., None, None]
    return summed
