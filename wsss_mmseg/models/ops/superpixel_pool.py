"""Superpixel pooling (Kwak, Hong & Han, "Weakly Supervised Semantic
Segmentation using Superpixel Pooling Network", AAAI 2017), methods.md §1.1.3.

The superpixel pooling layer averages a dense feature map inside every
superpixel::

    z_i = 1 / |S_i| * sum_{p in S_i} F(p)                         (SPN, §3.2)

with ``F`` the feature map nearest-upsampled to the superpixel map's
resolution. Every feature cell ``j`` (covering the pixel set ``R_j`` after
upsampling) contributes with the area weight ``|S_i ∩ R_j| / |S_i|``, so::

    z_i = sum_j  |S_i ∩ R_j| / |S_i| * f_j

:func:`superpixel_pool` computes this form: it finds the distinct
(superpixel, cell) pairs of the whole batch with one sort-based ``unique``,
gathers one feature row per pair and reduces them with one ``index_add`` — it never
builds the ``(H, W, K)`` upsampled copy of the features, and it is exactly
the per-superpixel mean of the nearest-upsampled map (forward and backward,
up to float summation order).

Ids: each image's map holds ids ``0..N_b-1``; :func:`compact_superpixel_ids`
offsets them into one id space for the batch and removes gaps (ids missing
from a map, e.g. tiny superpixels lost by a nearest down-resize). Negative
ids mark pixels that belong to no superpixel (square padding) and are
ignored.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'compact_superpixel_ids', 'superpixel_pool', 'superpixel_pool_reference',
    'superpixel_mean', 'paint_superpixels', 'resize_superpixels'
]


def _check_ids(superpixels: Tensor, name: str = 'superpixels') -> None:
    if superpixels.dim() != 3:
        raise ValueError(f'{name} must be (B, H, W) integer ids, got shape '
                         f'{tuple(superpixels.shape)}')
    if superpixels.is_floating_point() or superpixels.is_complex():
        raise TypeError(f'{name} must be an integer tensor, got '
                        f'{superpixels.dtype}')


def resize_superpixels(superpixels: Tensor, size: Tuple[int, int]) -> Tensor:
    """Nearest-neighbour resize of integer id maps.

    Args:
        superpixels (Tensor): (B, H, W) integer ids (negative = none).
        size (tuple[int, int]): Target (h, w).

    Returns:
        Tensor: (B, h, w) int64 ids; identical pixels are sampled as by
        ``F.interpolate(mode='nearest')`` (ids are exact in float64).
    """
    _check_ids(superpixels)
    if tuple(superpixels.shape[-2:]) == tuple(size):
        return superpixels.long()
    out = F.interpolate(
        superpixels[:, None].double(), size=tuple(size), mode='nearest')
    return out[:, 0].long()


def compact_superpixel_ids(superpixels: Tensor
                           ) -> Tuple[Tensor, Tensor, int]:
    """Batch-global, gap-free superpixel ids.

    Image ``b``'s ids are offset by ``sum_{b' < b} (max id of b' + 1)``; ids
    that occur nowhere are then removed, so the result covers ``0..M-1``
    without gaps, in the order (image, original id).

    Args:
        superpixels (Tensor): (B, H, W) integer ids per image (negative =
            no superpixel, ignored).

    Returns:
        tuple:
        - ids (Tensor): (B, H, W) int64 global ids in ``[0, M)``, -1 where
          the input was negative.
        - batch_idx (Tensor): (M,) int64 image index of each superpixel.
        - num_segments (int): M.
    """
    _check_ids(superpixels)
    sp = superpixels.long()
    batch = sp.shape[0]
    # per-image id range: max + 1 (0 for an image without superpixels);
    # negative ids never raise the max
    sizes = sp.flatten(1).amax(1).clamp(min=-1) + 1
    offsets = torch.cumsum(sizes, 0) - sizes
    total = int(sizes.sum())
    # ignored pixels go to an extra bin ``total`` (no boolean indexing)
    glob = torch.where(sp >= 0, sp + offsets.view(batch, 1, 1),
                       torch.full_like(sp, total))
    present = torch.bincount(glob.flatten(), minlength=total + 1)[:total] > 0
    remap = torch.cumsum(present.long(), 0) - 1
    remap = torch.cat([remap, remap.new_full((1, ), -1)])
    ids = remap[glob]
    owner = torch.repeat_interleave(
        torch.arange(batch, device=sp.device), sizes)
    batch_idx = owner[present]
    return ids, batch_idx, int(batch_idx.numel())


def _cell_index(feat_size: Tuple[int, int], img_size: Tuple[int, int],
                device: torch.device) -> Tensor:
    """Feature cell under each pixel for a nearest upsampling.

    Returns:
        Tensor: (H, W) int64 flat cell index ``y * w + x``, the same cell
        ``F.interpolate(mode='nearest')`` copies to that pixel.
    """
    h, w = feat_size
    grid = torch.arange(h * w, device=device, dtype=torch.float64)
    grid = grid.view(1, 1, h, w)
    return F.interpolate(grid, size=tuple(img_size),
                         mode='nearest')[0, 0].long()


def superpixel_pool(feats: Tensor, ids: Tensor,
                    num_segments: int) -> Tuple[Tensor, Tensor]:
    """Mean feature of every superpixel, area-weighted on the feature grid.

    ``z_i = sum_j |S_i ∩ R_j| / |S_i| * f_j`` (SPN eq. of the superpixel
    pooling layer), computed for the whole batch with one sort-based count
    of the (superpixel, cell) pairs and one ``index_add``.

    Args:
        feats (Tensor): (B, K, h, w) feature map.
        ids (Tensor): (B, H, W) int64 batch-global superpixel ids in
            ``[0, num_segments)`` (see :func:`compact_superpixel_ids`), -1 =
            ignored pixel. ``(H, W)`` is usually the image size and may differ
            from ``(h, w)``: the features are read as if nearest-upsampled.
        num_segments (int): M.

    Returns:
        tuple:
        - pooled (Tensor): (M, K) mean features (zeros for a segment
          without pixels), differentiable w.r.t. ``feats``.
        - area (Tensor): (M,) int64 pixel count ``|S_i|``.
    """
    if feats.dim() != 4:
        raise ValueError(f'feats must be (B, K, h, w), got '
                         f'{tuple(feats.shape)}')
    _check_ids(ids, 'ids')
    batch, channels, h, w = feats.shape
    if ids.shape[0] != batch:
        raise ValueError(f'feats has {batch} images but ids has '
                         f'{ids.shape[0]}')
    height, width = ids.shape[-2:]
    ids = ids.long()
    cells_per_img = h * w
    cell = _cell_index((h, w), (height, width), feats.device)
    # batch-global cell of every pixel
    cell = cell.view(1, height, width) + cells_per_img * torch.arange(
        batch, device=feats.device).view(batch, 1, 1)
    num_cells = batch * cells_per_img
    top = int(ids.max()) if ids.numel() else -1
    if top >= num_segments:
        raise ValueError(f'superpixel id {top} out of range for '
                         f'num_segments={num_segments}')
    # ignored pixels (-1) pool into a dummy segment ``num_segments``
    seg = torch.where(ids >= 0, ids, torch.full_like(ids, num_segments))
    # one sort-based count over (segment, cell) pairs: |S_i ∩ R_j|
    # (int32 keys sort faster when they fit)
    key_dtype = torch.int32 if (num_segments + 1) * num_cells < 2**31 \
        else torch.int64
    pair_key = (seg.to(key_dtype) * num_cells + cell.to(key_dtype)).flatten()
    pair_key, overlap = torch.unique(pair_key, return_counts=True)
    pair_seg = torch.div(pair_key, num_cells, rounding_mode='floor')
    pair_cell = (pair_key - pair_seg * num_cells).long()
    pair_seg = pair_seg.long()
    area = torch.zeros(
        num_segments + 1, dtype=torch.long, device=feats.device)
    area.index_add_(0, pair_seg, overlap)
    weight = overlap.to(feats.dtype) / area[pair_seg].to(feats.dtype)
    flat = feats.permute(0, 2, 3, 1).reshape(num_cells, channels)
    pooled = feats.new_zeros(num_segments + 1, channels)
    pooled = pooled.index_add(0, pair_seg,
                              flat[pair_cell] * weight.unsqueeze(1))
    return pooled[:num_segments], area[:num_segments]


def superpixel_pool_reference(feats: Tensor,
                              superpixels: Tensor) -> Tuple[Tensor, Tensor]:
    """Naive reference: upsample, then loop over superpixels (slow).

    For tests and benchmarks only: materialises the ``(B, K, H, W)``
    nearest-upsampled features and averages them under every superpixel
    mask, one superpixel at a time.

    Args:
        feats (Tensor): (B, K, h, w).
        superpixels (Tensor): (B, H, W) per-image ids (negative ignored).

    Returns:
        tuple: pooled (M, K) and batch index (M,), in the order of
        :func:`compact_superpixel_ids`.
    """
    _check_ids(superpixels)
    up = F.interpolate(feats, size=tuple(superpixels.shape[-2:]),
                       mode='nearest')
    rows, owners = [], []
    for b in range(feats.shape[0]):
        sp = superpixels[b].long()
        for i in torch.unique(sp[sp >= 0]).tolist():
            mask = sp == i
            rows.append(up[b][:, mask].mean(1))
            owners.append(b)
    pooled = torch.stack(rows) if rows else feats.new_zeros(
        0, feats.shape[1])
    return pooled, torch.tensor(owners, dtype=torch.long,
                                device=feats.device)


def superpixel_mean(pooled: Tensor, batch_idx: Tensor, batch_size: int,
                    valid: Optional[Tensor] = None) -> Tensor:
    """Per-image mean over superpixel vectors (each superpixel counts once).

    ``v_b = 1 / N_b * sum_{i in image b} z_i`` (SPN top branch).

    Args:
        pooled (Tensor): (M, K) superpixel features.
        batch_idx (Tensor): (M,) image of each superpixel.
        batch_size (int): B.
        valid (Tensor, optional): (M,) bool, superpixels to include.

    Returns:
        Tensor: (B, K); zeros for an image without superpixels.
    """
    weight = pooled.new_ones(pooled.shape[0])
    if valid is not None:
        weight = weight * valid.to(pooled.dtype)
    count = pooled.new_zeros(batch_size).index_add(0, batch_idx, weight)
    total = pooled.new_zeros(batch_size, pooled.shape[1]).index_add(
        0, batch_idx, pooled * weight.unsqueeze(1))
    return total / count.clamp(min=1).unsqueeze(1)


def paint_superpixels(values: Tensor, ids: Tensor,
                      fill: float = 0.0) -> Tensor:
    """Paint per-superpixel values back to pixels.

    Args:
        values (Tensor): (M, C) value of every superpixel.
        ids (Tensor): (B, H, W) batch-global ids, -1 = no superpixel.
        fill (float): Value of pixels without a superpixel.

    Returns:
        Tensor: (B, C, H, W) whose level sets are the superpixels.
    """
    _check_ids(ids, 'ids')
    padded = torch.cat([values, values.new_full((1, values.shape[1]), fill)])
    index = torch.where(ids >= 0, ids.long(),
                        torch.full_like(ids.long(), values.shape[0]))
    return padded[index].permute(0, 3, 1, 2).contiguous()
