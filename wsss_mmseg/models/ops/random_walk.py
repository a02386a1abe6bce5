"""Random walk with semantic affinities (PSA, Ahn & Kwak, CVPR 2018, Eq. 7-8;
methods.md §2.6).

``W`` is the symmetric affinity matrix of the stride-8 grid (``W_ij = a_ij``
for the pairs of :func:`~.affinity.affinity_offsets` under the border rule,
``W_ii = 1``, 0 elsewhere), ``W <- W^beta`` element-wise, ``T = D^-1 W``
with ``D`` the row sums, and the class maps are propagated ``t = 2^logt``
times: ``v <- T^t v``.

The authors square a dense ``N x N`` matrix ``logt`` times, which needs
``O(N^2)`` memory and ``O(N^3 logt)`` time. :func:`random_walk` instead
builds ``T`` as a sparse CSR matrix with at most 69 entries per row (34
offsets in each direction and the diagonal) and applies it ``t`` times to
the ``(N, C)`` maps: ``O(N)`` memory and ``O(69 N C t)`` time, the same
result up to floating-point rounding. :func:`random_walk_dense` is the
authors' dense procedure, kept as the reference for tests and benchmarks.
"""
import warnings
from typing import Tuple

import torch
from torch import Tensor

from .affinity import affinity_offsets, source_window


def _pair_indices(height: int, width: int, radius: int,
                  device: torch.device) -> Tuple[Tensor, Tensor]:
    """Flat grid indices of the source and target of every pair.

    Returns:
        tuple[Tensor, Tensor]: ``src`` (1, Hs, Ws) and ``dst`` (K, Hs, Ws)
        int64 indices into the flattened (H * W) grid.
    """
    row0, row1, col0, col1 = source_window(height, width, radius)
    rows = torch.arange(row0, row1, device=device)
    cols = torch.arange(col0, col1, device=device)
    src = (rows[:, None] * width + cols[None, :]).unsqueeze(0)
    offsets = torch.tensor(
        [dy * width + dx for dy, dx in affinity_offsets(radius)],
        device=device)
    return src, src + offsets[:, None, None]


def _check_affinity_shape(affinity: Tensor, height: int, width: int,
                          radius: int) -> None:
    row0, row1, col0, col1 = source_window(height, width, radius)
    expected = (len(affinity_offsets(radius)), row1 - row0, col1 - col0)
    if tuple(affinity.shape[-3:]) != expected:
        raise ValueError(
            f'affinities of shape {tuple(affinity.shape)} do not fit a '
            f'{height}x{width} grid with radius {radius}: expected '
            f'(..., {expected[0]}, {expected[1]}, {expected[2]})')


def sparse_transition(affinity: Tensor,
                      height: int,
                      width: int,
                      beta: float = 8.0,
                      radius: int = 5) -> Tensor:
    """Row-normalised transition matrix ``T = D^-1 W^beta`` as sparse CSR.

    Built straight in CSR form with int32 indices: on a grid wider than
    ``2 radius`` the flat offsets ``dy * width + dx`` of the 69 possible
    neighbours (34 backwards, the cell itself, 34 forwards) are the same,
    sorted, for every cell, so a (69, N) table of weights in that order,
    read row by row without its zeros, is the CSR layout.

    Args:
        affinity (Tensor): (K, Hs, Ws) affinities of one image, from
            :func:`~.affinity.affinity_from_features`.
        height, width (int): Grid size (N = height * width).
        beta (float): Exponent of the affinities.
        radius (int): Pair radius.

    Returns:
        Tensor: (N, N) sparse CSR matrix with at most ``2K + 1`` non-zeros
        per row.
    """
    _check_affinity_shape(affinity, height, width, radius)
    num = height * width
    offsets = affinity_offsets(radius)
    num_k = len(offsets)
    row0, row1, col0, col1 = source_window(height, width, radius)
    hs, ws = row1 - row0, col1 - col0
    # slot m of a row holds the neighbour at flat offset slot_offset[m]:
    # backward offsets (ascending), 0, forward offsets (ascending)
    flat = [dy * width + dx for dy, dx in offsets]
    # (H, W, 69): read row by row this is already the CSR order
    table = affinity.new_zeros(height, width, 2 * num_k + 1)
    table[..., num_k] = 1.0
    for k, (dy, dx) in enumerate(offsets):
        weight = affinity[k].pow(beta)
        # forward: row = source cell, column = source + offset
        table[row0:row1, col0:col1, num_k + 1 + k] = weight
        # backward: row = target cell, column = target - offset
        table[row0 + dy:row0 + dy + hs, col0 + dx:col0 + dx + ws,
              num_k - 1 - k] = weight
    table = table.reshape(num, 2 * num_k + 1)
    table.div_(table.sum(1, keepdim=True))
    keep = table != 0
    values = table[keep]
    del table
    slot_offset = torch.tensor(
        [-f for f in reversed(flat)] + [0] + flat,
        dtype=torch.int32,
        device=affinity.device)
    # column = row + slot offset, gathered in row chunks so that no
    # (N, 69) index table is ever held in memory
    cols = torch.empty_like(values, dtype=torch.int32)
    chunk = max(1, -(-num // 8))
    filled = 0
    for start in range(0, num, chunk):
        rows = torch.arange(
            start,
            min(start + chunk, num),
            dtype=torch.int32,
            device=affinity.device)
        part = (rows[:, None] + slot_offset)[keep[start:start + chunk]]
        cols[filled:filled + part.numel()] = part
        filled += part.numel()
    crow = torch.zeros(num + 1, dtype=torch.int32, device=affinity.device)
    torch.cumsum(keep.sum(1, dtype=torch.int32), 0, out=crow[1:])
    with warnings.catch_warnings():
        # CSR support is 'beta' in torch; the products used here are stable
        warnings.simplefilter('ignore', UserWarning)
        return torch.sparse_csr_tensor(
            crow, cols, values, (num, num), check_invariants=False)


def random_walk(scores: Tensor,
                affinity: Tensor,
                beta: float = 8.0,
                logt: int = 8,
                radius: int = 5) -> Tensor:
    """Propagate class maps by ``t = 2^logt`` random-walk steps (Eq. 8).

    ``vec(M*_c) = T^t vec(M_c)`` with ``T = D^-1 W^beta``, applied as
    ``t`` sparse products; the ``N x N`` matrix is never formed.

    Args:
        scores (Tensor): (B, C, H, W) class maps on the stride-8 grid.
        affinity (Tensor): (B, K, Hs, Ws) pair affinities of the same grid.
        beta (float): Affinity exponent (8).
        logt (int): log2 of the number of steps (8 -> 256 steps).
        radius (int): Pair radius (5).

    Returns:
        Tensor: (B, C, H, W) propagated maps.
    """
    if scores.dim() != 4 or affinity.dim() != 4:
        raise ValueError('random_walk expects (B, C, H, W) scores and '
                         '(B, K, Hs, Ws) affinities, got '
                         f'{tuple(scores.shape)} and {tuple(affinity.shape)}')
    if scores.shape[0] != affinity.shape[0]:
        raise ValueError(f'{scores.shape[0]} score maps but '
                         f'{affinity.shape[0]} affinity maps')
    batch, channels, height, width = scores.shape
    out = []
    for i in range(batch):
        trans = sparse_transition(
            affinity[i].to(scores.dtype), height, width, beta, radius)
        vec = scores[i].reshape(channels, -1).t().contiguous()
        for _ in range(2**logt):
            vec = trans @ vec
        out.append(vec.t().reshape(channels, height, width))
    return torch.stack(out)


def dense_transition(affinity: Tensor,
                     height: int,
                     width: int,
                     beta: float = 8.0,
                     radius: int = 5) -> Tensor:
    """Dense ``T = D^-1 W^beta`` — reference only, O(N^2) memory.

    Args:
        affinity (Tensor): (K, Hs, Ws) affinities of one image.
        height, width (int): Grid size.
        beta (float): Affinity exponent.
        radius (int): Pair radius.

    Returns:
        Tensor: (N, N) dense transition matrix.
    """
    _check_affinity_shape(affinity, height, width, radius)
    num = height * width
    src, dst = _pair_indices(height, width, radius, affinity.device)
    src = src.expand_as(dst).reshape(-1)
    dst = dst.reshape(-1)
    weight = affinity.reshape(-1).pow(beta)
    mat = torch.zeros(num, num, dtype=affinity.dtype, device=affinity.device)
    mat[src, dst] = weight
    mat[dst, src] = weight
    mat.fill_diagonal_(1.0)
    return mat / mat.sum(1, keepdim=True)


def random_walk_dense(scores: Tensor,
                      affinity: Tensor,
                      beta: float = 8.0,
                      logt: int = 8,
                      radius: int = 5) -> Tensor:
    """The authors' procedure: square the dense ``T`` ``logt`` times.

    Reference for :func:`random_walk`; needs O(N^2) memory.

    Args:
        scores (Tensor): (B, C, H, W) class maps on the grid.
        affinity (Tensor): (B, K, Hs, Ws) pair affinities.
        beta (float): Affinity exponent.
        logt (int): Number of squarings.
        radius (int): Pair radius.

    Returns:
        Tensor: (B, C, H, W) propagated maps.
    """
    batch, channels, height, width = scores.shape
    out = []
    for i in range(batch):
        trans = dense_transition(affinity[i].to(scores.dtype), height, width,
                                 beta, radius)
        for _ in range(logt):
            trans = trans @ trans
        vec = scores[i].reshape(channels, -1).t()
        out.append((trans @ vec).t().reshape(channels, height, width))
    return torch.stack(out)
