"""Pixel-pair affinities of AffinityNet (Ahn & Kwak, "Learning Pixel-level
Semantic Affinity with Image-level Supervision", CVPR 2018), methods.md §2.4
and §2.5.

All pairs live on the stride-8 feature grid. A pair is an unordered pair of
cells within ``radius`` (5) of each other; every pair is listed once, from a
*source* cell to a *target* cell at one of the :func:`affinity_offsets`.
The authors' border rule keeps only sources whose 34 targets all lie inside
the grid: rows ``[0, H - radius + 1)`` and columns
``[radius - 1, W - radius + 1)`` (for radius 5: rows ``[0, H-4)``, columns
``[4, W-4)``). The same rule is used for training and for the random walk.

Layout used by every function here: per-offset maps of shape
``(B, K, Hs, Ws)`` where ``K`` is the number of offsets and ``Hs x Ws`` the
source window (``H - radius + 1`` by ``W - 2 (radius - 1)``).
"""
from typing import List, Tuple

import torch
from torch import Tensor

PSA_IGNORE_INDEX = 255


def affinity_offsets(radius: int = 5) -> List[Tuple[int, int]]:
    """Offsets (dy, dx) of the unordered pairs within ``radius`` [code].

    ``{(0, dx): 1 <= dx < radius} U {(dy, dx): 1 <= dy < radius,
    |dx| < radius, dx^2 + dy^2 < radius^2}`` — each unordered pair of cells
    closer than ``radius`` appears exactly once. Radius 5 gives 34 offsets.

    Args:
        radius (int): Pairs have Euclidean distance < radius.

    Returns:
        list[tuple[int, int]]: (dy, dx) in the authors' order.
    """
    if radius < 2:
        raise ValueError(f'affinity radius must be >= 2, got {radius}')
    offsets = [(0, dx) for dx in range(1, radius)]
    for dy in range(1, radius):
        for dx in range(-radius + 1, radius):
            if dx * dx + dy * dy < radius * radius:
                offsets.append((dy, dx))
    return offsets


def source_window(height: int, width: int,
                  radius: int = 5) -> Tuple[int, int, int, int]:
    """Source cells kept by the border rule.

    Args:
        height, width (int): Grid size.
        radius (int): Pair radius.

    Returns:
        tuple: (row0, row1, col0, col1), sources are rows [row0, row1) and
        columns [col0, col1); empty when the grid is smaller than
        ``radius x (2 radius - 1)`` cells.
    """
    r = radius - 1
    # a grid too small for any pair (H <= radius - 1 or W <= 2 (radius - 1),
    # e.g. a 64x64 input at stride 8) gets an empty window: no pairs
    return 0, max(height - r, 0), r, max(width - r, r)


def shifted_pairs(x: Tensor, radius: int = 5) -> Tuple[Tensor, Tensor]:
    """Values at the source and target cell of every pair.

    Args:
        x (Tensor): (B, C, H, W) any per-cell values.
        radius (int): Pair radius.

    Returns:
        tuple[Tensor, Tensor]: ``src`` (B, C, 1, Hs, Ws) and ``dst``
        (B, C, K, Hs, Ws): ``dst[:, :, k]`` is ``x`` shifted by offset k.
    """
    height, width = x.shape[-2:]
    row0, row1, col0, col1 = source_window(height, width, radius)
    hs, ws = row1 - row0, col1 - col0
    src = x[..., row0:row1, col0:col1].unsqueeze(2)
    dst = torch.stack([
        x[..., row0 + dy:row0 + dy + hs, col0 + dx:col0 + dx + ws]
        for dy, dx in affinity_offsets(radius)
    ], dim=2)
    return src, dst


def affinity_from_features(feats: Tensor,
                           radius: int = 5,
                           reduction: str = 'mean') -> Tensor:
    """Eq. (1) of the paper: ``a_ij = exp(-||f_i - f_j||_1)``.

    The authors' code takes the channel **mean** of ``|f_i - f_j|`` (and
    tuned beta for it) — the default; ``reduction='sum'`` is the paper's
    formula.

    Args:
        feats (Tensor): (B, D, H, W) affinity features f_aff.
        radius (int): Pair radius.
        reduction (str): 'mean' [code] or 'sum' [paper] over channels.

    Returns:
        Tensor: (B, K, Hs, Ws) affinities in (0, 1].
    """
    if reduction not in ('mean', 'sum'):
        raise ValueError(
            f"affinity reduction must be 'mean' or 'sum', got {reduction!r}")
    src, dst = shifted_pairs(feats, radius)
    dist = (dst - src).abs()
    dist = dist.mean(1) if reduction == 'mean' else dist.sum(1)
    return torch.exp(-dist)


def affinity_label_masks(labels: Tensor,
                         radius: int = 5,
                         ignore_index: int = PSA_IGNORE_INDEX
                         ) -> Tuple[Tensor, Tensor, Tensor]:
    """Pair labels from a label grid (methods.md §2.4 step 6) [code].

    ``bg_pos``: both cells background (0); ``fg_pos``: same label, not 0;
    ``neg``: different labels. Pairs touching ``ignore_index`` are in none.

    Args:
        labels (Tensor): (B, H, W) integer labels on the stride-8 grid, 0 =
            background, ``ignore_index`` = unsure.
        radius (int): Pair radius.
        ignore_index (int): Unsure label.

    Returns:
        tuple[Tensor, Tensor, Tensor]: bool masks ``bg_pos``, ``fg_pos``,
        ``neg``, each (B, K, Hs, Ws).
    """
    if labels.dim() != 3:
        raise ValueError('affinity_label_masks expects (B, H, W) labels, got '
                         f'shape {tuple(labels.shape)}')
    src, dst = shifted_pairs(labels.unsqueeze(1), radius)
    src, dst = src[:, 0], dst[:, 0]
    valid = (src != ignore_index) & (dst != ignore_index)
    same = (src == dst) & valid
    bg_pos = same & (src == 0)
    fg_pos = same & (src != 0)
    neg = (src != dst) & valid
    return bg_pos, fg_pos, neg


def pair_counts(height: int, width: int, radius: int = 5) -> Tuple[int, int]:
    """Number of offsets and of source cells for a grid.

    Args:
        height, width (int): Grid size.
        radius (int): Pair radius.

    Returns:
        tuple[int, int]: (K, Hs * Ws); a 56x56 grid gives (34, 52 * 48).
    """
    row0, row1, col0, col1 = source_window(height, width, radius)
    return len(affinity_offsets(radius)), (row1 - row0) * (col1 - col0)


def affinity_cross_entropy(affinity: Tensor,
                           bg_pos: Tensor,
                           fg_pos: Tensor,
                           neg: Tensor,
                           eps: float = 1e-5) -> Tuple[Tensor, Tensor, Tensor]:
    """The three terms of the AffinityNet loss (paper Eq. 3-5) [code].

    ``L_bg = -sum(bg_pos log(a + eps)) / (|bg_pos| + eps)``,
    ``L_fg = -sum(fg_pos log(a + eps)) / (|fg_pos| + eps)``,
    ``L_neg = -sum(neg log(1 + eps - a)) / (|neg| + eps)``, each count taken
    over the whole batch. A term without pairs is exactly 0 (never NaN).

    Args:
        affinity (Tensor): (B, K, Hs, Ws) predicted affinities in (0, 1].
        bg_pos, fg_pos, neg (Tensor): (B, K, Hs, Ws) bool pair masks from
            :func:`affinity_label_masks`.
        eps (float): Inside the logs and the denominators (1e-5).

    Returns:
        tuple[Tensor, Tensor, Tensor]: scalar ``L_bg``, ``L_fg``, ``L_neg``.
    """
    if not (affinity.shape == bg_pos.shape == fg_pos.shape == neg.shape):
        raise ValueError(
            f'affinities {tuple(affinity.shape)} and pair masks '
            f'{tuple(bg_pos.shape)}, {tuple(fg_pos.shape)}, '
            f'{tuple(neg.shape)} differ in shape')
    zero = affinity.new_zeros(())
    pos_log = torch.log(affinity + eps)
    neg_log = torch.log(1.0 + eps - affinity)

    def term(mask: Tensor, log: Tensor) -> Tensor:
        mask = mask.to(affinity.dtype)
        # where() keeps 0 * (-inf) out of masked-out entries
        total = torch.where(mask > 0, log, zero).mul(mask).sum()
        return (0.0 - total) / (mask.sum() + eps)  # +0.0, not -0.0, if empty

    return term(bg_pos, pos_log), term(fg_pos, pos_log), term(neg, neg_log)


def check_affinity_shape(affinity: Tensor, height: int, width: int,
                         radius: int) -> None:
    """Raise if (..., K, Hs, Ws) affinities do not fit the grid and radius
    (K offsets, sources inside :func:`source_window`)."""
    row0, row1, col0, col1 = source_window(height, width, radius)
    expected = (len(affinity_offsets(radius)), row1 - row0, col1 - col0)
    if tuple(affinity.shape[-3:]) != expected:
        raise ValueError(
            f'affinities of shape {tuple(affinity.shape)} do not fit a '
            f'{height}x{width} grid with radius {radius}: expected '
            f'(..., {expected[0]}, {expected[1]}, {expected[2]})')
