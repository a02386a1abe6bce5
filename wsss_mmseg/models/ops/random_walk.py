"""Random walk with semantic affinities (PSA, Ahn & Kwak, CVPR 2018, Eq. 7-8;
methods.md §2.6).

``W`` is the symmetric affinity matrix of the stride-8 grid (``W_ij = a_ij``
for the pairs of :func:`~.affinity.affinity_offsets` under the border rule,
``W_ii = 1``, 0 elsewhere), ``W <- W^beta`` element-wise, ``T = D^-1 W``
with ``D`` the row sums, and the class maps are propagated ``t = 2^logt``
times: ``v <- T^t v``.

The authors square a dense ``N x N`` matrix ``logt`` times, which needs
``O(N^2)`` memory and ``O(N^3 logt)`` time. :func:`random_walk` multiplies
the ``(C, N)`` maps by a sparse operator instead (``O(N)`` memory), which
is either

- matrix-free (:func:`stencil_transition`, methods ``'chebyshev'`` and
  ``'stencil'``): only the 34 pair-weight maps and the degrees are stored
  (about ``4 * 34 N`` bytes); one product is 68 in-place multiply-adds of
  shifted slices; or
- an explicit CSR matrix (:func:`sparse_transition`, method ``'csr'``)
  with at most 69 non-zeros per row (8 bytes each: value and int32
  column), twice the memory, faster per product on CPU.

``'stencil'`` and ``'csr'`` apply it t times; ``'chebyshev'`` evaluates
``T^t`` as a truncated Chebyshev expansion of ``x^t`` (about ``sqrt(t)``
products, 90 for t = 256) whose error bound is set far below float32
rounding (:func:`chebyshev_power_coeffs`).

:func:`random_walk_dense` is the authors' dense procedure, kept as the
reference for tests and benchmarks.
"""
import warnings
from typing import Tuple

import torch
from torch import Tensor

from .affinity import affinity_offsets, check_affinity_shape, source_window
from .stencil_walk import (  # noqa: F401 (public here too)
    CHEBYSHEV_TOL, StencilTransition, _walk_stencil, chebyshev_power_coeffs,
    stencil_transition)

RANDOM_WALK_METHODS = ('chebyshev', 'stencil', 'csr')


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
    check_affinity_shape(affinity, height, width, radius)
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


def _walk_csr(scores: Tensor, affinity: Tensor, beta: float, steps: int,
              radius: int, tol: float) -> Tensor:
    """``T^steps`` of every image with :func:`sparse_transition`.

    Args:
        scores (Tensor): (B, C, H, W) class maps.
        affinity (Tensor): (B, K, Hs, Ws) affinities.
        beta (float): Affinity exponent.
        steps (int): Number of steps t.
        radius (int): Pair radius.
        tol (float): Unused (always t plain products).

    Returns:
        Tensor: (B, C, H, W) ``T^t`` applied to every channel.
    """
    batch, channels, height, width = scores.shape
    out = []
    for i in range(batch):
        trans = sparse_transition(
            affinity[i].to(scores.dtype), height, width, beta, radius)
        vec = scores[i].reshape(channels, -1).t().contiguous()
        for _ in range(steps):
            vec = trans @ vec
        out.append(vec.t().reshape(channels, height, width))
    return torch.stack(out)


@torch.no_grad()
def random_walk(scores: Tensor,
                affinity: Tensor,
                beta: float = 8.0,
                logt: int = 8,
                radius: int = 5,
                method: str = 'chebyshev',
                tol: float = CHEBYSHEV_TOL) -> Tensor:
    """Propagate class maps by ``t = 2^logt`` random-walk steps (Eq. 8).

    ``vec(M*_c) = T^t vec(M_c)`` with ``T = D^-1 W^beta``; the ``N x N``
    matrix is never formed. Inference only: the result carries no
    gradient. Methods:

    - ``'chebyshev'`` (default): the matrix-free operator of
      :func:`stencil_transition`; ``T^t`` as the Chebyshev expansion of
      ``x^t`` truncated at ``tol`` (90 products instead of 256 for
      ``t = 256``), within ``tol * sqrt(sum D) * max|v|`` of ``T^t v``.
    - ``'stencil'``: the same operator applied t times.
    - ``'csr'``: :func:`sparse_transition` applied t times.

    ``tools/analysis/benchmark_random_walk.py`` compares the three with the
    dense squaring (numbers in configs/psa/README.md).

    Args:
        scores (Tensor): (B, C, H, W) class maps on the stride-8 grid.
        affinity (Tensor): (B, K, Hs, Ws) pair affinities of the same grid.
        beta (float): Affinity exponent (8).
        logt (int): log2 of the number of steps (8 -> 256 steps).
        radius (int): Pair radius (5).
        method (str): 'chebyshev', 'stencil' or 'csr'.
        tol (float): Truncation of the Chebyshev expansion (only used by
            'chebyshev').

    Returns:
        Tensor: (B, C, H, W) propagated maps, contiguous.
    """
    if scores.dim() != 4 or affinity.dim() != 4:
        raise ValueError('random_walk expects (B, C, H, W) scores and '
                         '(B, K, Hs, Ws) affinities, got '
                         f'{tuple(scores.shape)} and {tuple(affinity.shape)}')
    if scores.shape[0] != affinity.shape[0]:
        raise ValueError(f'{scores.shape[0]} score maps but '
                         f'{affinity.shape[0]} affinity maps')
    if method not in RANDOM_WALK_METHODS:
        raise ValueError(f'random walk method must be one of '
                         f'{RANDOM_WALK_METHODS}, got {method!r}')
    if int(logt) != logt or logt < 0:
        raise ValueError(f'logt must be a non-negative integer, got {logt}')
    if method == 'chebyshev' and not 0 < tol < 1:
        raise ValueError(f'Chebyshev tolerance must be in (0, 1), got {tol}')
    steps = 2**int(logt)
    if method == 'csr':
        return _walk_csr(scores, affinity, beta, steps, radius, 0.0)
    return _walk_stencil(scores, affinity, beta, steps, radius,
                         tol if method == 'chebyshev' else 0.0)


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
    check_affinity_shape(affinity, height, width, radius)
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
