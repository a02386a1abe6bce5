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
import math
import warnings
from typing import List, NamedTuple, Tuple

import torch
from torch import Tensor

from .affinity import affinity_offsets, source_window

RANDOM_WALK_METHODS = ('chebyshev', 'stencil', 'csr')
# largest coefficient mass dropped from the expansion of x^t
CHEBYSHEV_TOL = 1e-8


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


class StencilTransition(NamedTuple):
    """Matrix-free ``T = D^-1 W^beta`` in symmetric form.

    ``T = D^-1/2 S D^1/2`` with ``S = D^-1/2 W D^-1/2`` symmetric, so one
    weight map per pair serves both of its rows: ``S_ij = S_ji = s_k(i)``
    for the pair (i, j = i + offset k) and ``S_ii = 1 / D_i``.

    The grid is walked in a *frame*: the image grid itself or, when that
    wastes fewer cells, its transpose (``transposed``). In the frame's
    row-major flat order, the sources of all pairs lie in the contiguous
    run ``[start, start + length)`` and offset k moves a cell by
    ``flat_offsets[k]``; cells of the run outside the source window (the
    ``2 (radius - 1)`` or ``radius - 1`` border cells between two rows)
    have weight 0, so every term of a step is a slice of length
    ``length``.

    Attributes:
        weights (Tensor): (K, length) ``s_k`` along the run, 0 on cells
            that are not sources.
        inv_sqrt_degree (Tensor): (N,) ``D^-1/2`` in frame order.
        flat_offsets (list[int]): K flat offsets ``dy * width + dx`` in
            the frame.
        start (int): Flat index of the first source cell.
        length (int): Length of the run (0 when the grid has no pair).
        height, width (int): Frame size.
        transposed (bool): Whether the frame is the transposed grid.
    """
    weights: Tensor
    inv_sqrt_degree: Tensor
    flat_offsets: List[int]
    start: int
    length: int
    height: int
    width: int
    transposed: bool


def stencil_transition(affinity: Tensor,
                       height: int,
                       width: int,
                       beta: float = 8.0,
                       radius: int = 5) -> StencilTransition:
    """Pair weights and degrees of ``T = D^-1 W^beta``, no matrix.

    ``D_i = 1 + sum_{j ~ i} a_ij^beta`` and ``s_k(i) = a_k(i)^beta /
    sqrt(D_i D_{i + o_k})``: ``K * length + N`` numbers (about ``34 N``)
    instead of the ``<= 69 N`` values and column indices of a CSR matrix.

    Args:
        affinity (Tensor): (K, Hs, Ws) affinities of one image, from
            :func:`~.affinity.affinity_from_features`.
        height, width (int): Grid size (N = height * width).
        beta (float): Exponent of the affinities.
        radius (int): Pair radius.

    Returns:
        StencilTransition: weights in the frame with the shorter run.
    """
    _check_affinity_shape(affinity, height, width, radius)
    offsets = affinity_offsets(radius)
    row0, row1, col0, col1 = source_window(height, width, radius)
    hs, ws = row1 - row0, col1 - col0
    transposed = False
    if hs > 0 and ws > 0:
        # run length (hs - 1) * width + ws in either orientation
        transposed = (ws - 1) * height + hs < (hs - 1) * width + ws
    if transposed:
        affinity = affinity.transpose(1, 2)
        offsets = [(dx, dy) for dy, dx in offsets]
        height, width = width, height
        row0, row1, col0, col1 = col0, col1, row0, row1
        hs, ws = ws, hs
    num = height * width
    if hs == 0 or ws == 0:
        # no pair fits the grid: W = I and the walk is the identity
        return StencilTransition(
            affinity.new_zeros(0, 0), affinity.new_ones(num), [], 0, 0,
            height, width, transposed)
    num_k = len(offsets)
    start = row0 * width + col0
    length = (hs - 1) * width + ws
    flat = [dy * width + dx for dy, dx in offsets]
    # (K, hs, width) rows of the frame, zero outside the source columns;
    # read flat from column col0 on, they are the runs of all K offsets
    grid = affinity.new_zeros(num_k, hs, width)
    torch.pow(affinity, beta, out=grid[:, :, col0:col1])
    weights = grid.view(num_k, hs * width)[:, col0:col0 + length]
    degree = affinity.new_ones(num)
    # each pair adds its weight to the degree of its source and target
    degree[start:start + length].add_(weights.sum(0))
    for k, shift in enumerate(flat):
        degree[start + shift:start + shift + length].add_(weights[k])
    inv_sqrt = degree.rsqrt_()
    weights.mul_(inv_sqrt[start:start + length])
    for k, shift in enumerate(flat):
        weights[k].mul_(inv_sqrt[start + shift:start + shift + length])
    return StencilTransition(weights, inv_sqrt, flat, start, length, height,
                             width, transposed)


def _stencil_terms(src: Tensor, dst: Tensor, trans: StencilTransition
                   ) -> List[Tuple[Tensor, Tensor, Tensor]]:
    """Slices of one step ``dst = S src`` as (out, weight, in) triples.

    For each pair offset, the forward term (each source row gains
    ``s * src[target]``) and the backward term (each target row gains
    ``s * src[source]``), to be applied as ``out.addcmul_(weight, in)``.

    Args:
        src, dst (Tensor): (C, N) maps in frame order, distinct buffers.
        trans (StencilTransition): The operator.

    Returns:
        list[tuple[Tensor, Tensor, Tensor]]: 2K views ``(C, length)``,
        ``(length,)``, ``(C, length)``.
    """
    run = slice(trans.start, trans.start + trans.length)
    terms = []
    for k, shift in enumerate(trans.flat_offsets):
        shifted = slice(trans.start + shift,
                        trans.start + shift + trans.length)
        terms.append((dst[:, run], trans.weights[k], src[:, shifted]))
        terms.append((dst[:, shifted], trans.weights[k], src[:, run]))
    return terms


def chebyshev_power_coeffs(steps: int, tol: float = CHEBYSHEV_TOL) -> Tensor:
    """Truncated Chebyshev expansion of ``x^steps`` on [-1, 1].

    ``x^t = sum_k c_k T_k(x)`` with ``c_k = 2^(1-t) binom(t, (t-k)/2)`` for
    ``k = t, t-2, ...`` (``c_0`` halved), the distribution of
    ``|2 Bin(t, 1/2) - t|`` (Sachdeva & Vishnoi, "Faster Algorithms via
    Approximation Theory", 2014, §3). Since ``|T_k| <= 1`` on [-1, 1],
    dropping the terms above degree ``d`` changes the polynomial by at
    most the dropped mass, which is ``<= 2 exp(-d^2 / (2t))``: for
    ``t = 256`` and ``tol = 1e-8`` the degree is 90 instead of 256.

    Args:
        steps (int): Power t >= 1.
        tol (float): Largest sum of the dropped coefficients.

    Returns:
        Tensor: (d + 1,) float64 coefficients ``c_0 .. c_d`` (zero for
        ``k`` of the other parity than ``t``), ``d`` the smallest degree
        whose dropped mass is ``<= tol``.
    """
    k = torch.arange(steps + 1, dtype=torch.float64)
    log_binom = (torch.lgamma(torch.tensor(steps + 1.0, dtype=torch.float64))
                 - torch.lgamma((steps - k) / 2 + 1)
                 - torch.lgamma((steps + k) / 2 + 1))
    coeffs = torch.exp(log_binom + (1 - steps) * math.log(2))
    coeffs[(steps - k.long()) % 2 == 1] = 0
    if steps % 2 == 0:
        coeffs[0] /= 2
    # mass dropped when keeping degrees 0..d: sum of c_k for k > d
    dropped = coeffs.flip(0).cumsum(0).flip(0)[1:]
    degree = int((dropped > tol).sum())
    return coeffs[:degree + 1]


def _walk_image(image: Tensor, out: Tensor, trans: StencilTransition,
                steps: int, tol: float) -> None:
    """``out = T^steps image`` for one image in the frame of ``trans``.

    Works in the symmetric form ``u = D^1/2 v``, ``u <- S^t u``,
    ``v = D^-1/2 u``, with ``out`` and one scratch buffer: with
    ``tol > 0`` and a Chebyshev degree ``d < t``, ``S^t u`` is
    ``sum_k c_k T_k(S) u`` by Clenshaw's recurrence
    ``b_k = c_k u + 2 S b_{k+1} - b_{k+2}``, result
    ``c_0 u + S b_1 - b_2`` (d products by S); otherwise t products.
    ``||S|| <= 1``, so the maps differ from ``T^t v`` by at most
    ``tol * sqrt(sum_j D_j) * max|v|`` (about ``4.5e-6 max|v|`` at 63x47
    and ``tol = 1e-8``), below the float32 rounding of the t steps.

    One product by S is ``dst = D^-1 src`` plus 68 in-place ``addcmul_``
    on slices prepared once, so nothing is allocated inside a step. The
    Python loop over the offsets was the fastest option measured (63x47
    grid, 21 channels, 256 plain steps, one CPU thread): 0.141 s on the
    column-major run of 2,453 cells (0.168 s on the row-major run of
    2,765 cells); 0.140 s with ``torch._foreach_addcmul_`` (no gain, and
    its fused CUDA kernel would race on the overlapping outputs); 0.208 s
    on 2-D (C, Hs, Ws) slices; channels-last (N, C) slices were 1.8x
    slower per term. Summing several offsets in one op needs a
    (C, K, length) product, 40x the memory of the operator.

    Args:
        image (Tensor): (C, Hf, Wf) maps in frame layout (any strides).
        out (Tensor): (C, Hf, Wf) contiguous result buffer.
        trans (StencilTransition): The operator.
        steps (int): t >= 1.
        tol (float): Chebyshev truncation (0: always t plain steps).
    """
    if not trans.flat_offsets:
        out.copy_(image)  # no pair: W = I
        return
    channels = out.shape[0]
    sqrt_degree = trans.inv_sqrt_degree.reciprocal().view(out.shape[1:])
    inv_degree = trans.inv_sqrt_degree.square()
    coeffs = chebyshev_power_coeffs(steps, tol).tolist() if tol > 0 else []
    buffers = (out.view(channels, -1), torch.empty_like(out).view(
        channels, -1))
    terms = (_stencil_terms(buffers[0], buffers[1], trans),
             _stencil_terms(buffers[1], buffers[0], trans))

    def apply_s(src: int, value: float, accumulate: bool = True) -> None:
        # buffers[1 - src] (+)= value * S buffers[src]
        dst = buffers[1 - src]
        if accumulate:
            dst.addcmul_(buffers[src], inv_degree, value=value)
        else:
            torch.mul(buffers[src], inv_degree, out=dst)
        for target, weight, source in terms[src]:
            target.addcmul_(weight, source, value=value)

    def add_input(dst: int, value: float) -> None:
        # buffers[dst] += value * D^1/2 image
        buffers[dst].view_as(out).addcmul_(image, sqrt_degree, value=value)

    if 0 < len(coeffs) - 1 < steps:
        newer = 0  # holds b_{k+1}; the other buffer holds b_{k+2}
        buffers[0].zero_()
        add_input(0, coeffs[-1])
        buffers[1].zero_()
        for k in range(len(coeffs) - 2, -1, -1):
            older = 1 - newer
            buffers[older].neg_()
            if coeffs[k] != 0:
                add_input(older, coeffs[k])
            apply_s(newer, 1.0 if k == 0 else 2.0)
            newer = older
    else:
        torch.mul(image, sqrt_degree, out=out)
        newer = 0
        for _ in range(steps):
            apply_s(newer, 1.0, accumulate=False)
            newer = 1 - newer
    result = buffers[newer]
    result.mul_(trans.inv_sqrt_degree)
    if newer != 0:
        buffers[0].copy_(result)


def _walk_stencil(scores: Tensor, affinity: Tensor, beta: float, steps: int,
                  radius: int, tol: float) -> Tensor:
    """``T^steps`` of every image with :func:`stencil_transition`.

    Args:
        scores (Tensor): (B, C, H, W) class maps.
        affinity (Tensor): (B, K, Hs, Ws) affinities.
        beta (float): Affinity exponent.
        steps (int): Number of steps t >= 1.
        radius (int): Pair radius.
        tol (float): Chebyshev truncation, 0 for t plain steps.

    Returns:
        Tensor: (B, C, H, W) ``T^t`` applied to every channel.
    """
    batch, channels, height, width = scores.shape
    if batch == 0:
        return scores.clone()
    out = None
    transposed = False
    for i in range(batch):
        trans = stencil_transition(
            affinity[i].to(scores.dtype), height, width, beta, radius)
        transposed = trans.transposed
        if out is None:
            out = scores.new_empty(batch, channels, trans.height,
                                   trans.width)
        image = scores[i].transpose(1, 2) if transposed else scores[i]
        _walk_image(image, out[i], trans, steps, tol)
        del trans  # free the operator before the next one is built
    if transposed:
        out = out.transpose(2, 3).contiguous()
    return out


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
