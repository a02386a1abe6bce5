"""Matrix-free random-walk operator of PSA (Ahn & Kwak, CVPR 2018, Eq. 7-8)
and the Chebyshev evaluation of ``T^t`` (methods.md §2.6); used by
:func:`~.random_walk.random_walk` (methods 'chebyshev' and 'stencil')."""
import math
from typing import List, NamedTuple, Tuple

import torch
from torch import Tensor

from .affinity import affinity_offsets, check_affinity_shape, source_window

# largest coefficient mass dropped from the expansion of x^t
CHEBYSHEV_TOL = 1e-8


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
    check_affinity_shape(affinity, height, width, radius)
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
