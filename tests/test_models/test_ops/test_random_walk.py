"""Sparse random walk of PSA equals the authors' dense squaring."""
import math

import pytest
import torch

from wsss_mmseg.models.ops.affinity import pair_counts
from wsss_mmseg.models.ops.random_walk import (RANDOM_WALK_METHODS,
                                               chebyshev_power_coeffs,
                                               dense_transition, random_walk,
                                               random_walk_dense,
                                               sparse_transition,
                                               stencil_transition)

DEVICES = ['cpu', 'meta'] + (['cuda'] if torch.cuda.is_available() else [])


def _random_case(h, w, radius, channels=3, batch=1, seed=0,
                 dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    k, n_src = pair_counts(h, w, radius)
    row_count = h - radius + 1
    col_count = n_src // row_count if row_count > 0 else 0
    aff = torch.rand(batch, k, max(row_count, 0), col_count, generator=gen,
                     dtype=dtype)
    scores = torch.rand(batch, channels, h, w, generator=gen, dtype=dtype)
    return scores, aff


@pytest.mark.parametrize('method', RANDOM_WALK_METHODS)
@pytest.mark.parametrize('h,w,radius', [(6, 5, 2), (6, 5, 3), (12, 14, 5),
                                        (20, 17, 5), (9, 9, 5), (7, 23, 5),
                                        (13, 9, 4)])
def test_sparse_equals_dense(h, w, radius, method):
    # odd sizes, tall grids (column-major frame) and wide ones (row-major)
    scores, aff = _random_case(h, w, radius, batch=2)
    assert aff.numel() > 0
    ours = random_walk(scores, aff, beta=8, logt=8, radius=radius,
                       method=method)
    ref = random_walk_dense(scores, aff, beta=8, logt=8, radius=radius)
    assert ours.shape == scores.shape and ours.is_contiguous()
    assert (ours - ref).abs().max().item() <= 1e-4
    # the walk mixes: the result is not the input
    assert (ours - scores).abs().max().item() > 1e-3


@pytest.mark.parametrize('method', ['stencil', 'csr'])
@pytest.mark.parametrize('h,w', [(16, 15), (9, 21)])
def test_steps_equal_dense_float64_tight(method, h, w):
    scores, aff = _random_case(h, w, 5, dtype=torch.float64)
    ours = random_walk(scores, aff, beta=2, logt=5, method=method)
    ref = random_walk_dense(scores, aff, beta=2, logt=5)
    assert ours.dtype == torch.float64
    assert (ours - ref).abs().max().item() < 1e-10


def test_chebyshev_within_its_bound_float64():
    # |error| <= tol * sqrt(sum_j D_j) * max|v| (random_walk docstring)
    h, w, tol = 16, 15, 1e-6
    scores, aff = _random_case(h, w, 5, channels=4, dtype=torch.float64)
    assert len(chebyshev_power_coeffs(256, tol)) - 1 < 256
    ours = random_walk(scores, aff, beta=1, logt=8, tol=tol)
    ref = random_walk_dense(scores, aff, beta=1, logt=8)
    trans = dense_transition(aff[0], h, w, beta=1)
    degree_sum = (1 / trans.diagonal()).sum().item()  # W_ii = 1
    bound = tol * math.sqrt(degree_sum) * scores.abs().max().item()
    err = (ours - ref).abs().max().item()
    assert err <= bound
    # a looser expansion is measurably further from the walk
    loose = random_walk(scores, aff, beta=1, logt=8, tol=1e-2)
    assert (loose - ref).abs().max().item() > 10 * err


@pytest.mark.parametrize('steps', [1, 2, 16, 33, 256, 1024])
def test_chebyshev_power_coeffs(steps):
    tol = 1e-8
    coeffs = chebyshev_power_coeffs(steps, tol)
    degree = len(coeffs) - 1
    x = torch.linspace(-1, 1, 2001, dtype=torch.float64)
    # T_k(x) = cos(k arccos x)
    cheb = torch.cos(torch.arange(degree + 1, dtype=torch.float64)[:, None]
                     * torch.arccos(x)[None])
    approx = (coeffs[:, None] * cheb).sum(0)
    assert (approx - x**steps).abs().max().item() <= tol + 1e-12
    # the dropped mass (1 - kept mass) is within tol, one more term is not
    assert 1 - coeffs.sum().item() <= tol + 1e-12
    if degree < steps:
        assert 1 - coeffs[:-1].sum().item() > tol
    # only degrees of the parity of t
    assert (coeffs[(steps - torch.arange(degree + 1)) % 2 == 1] == 0).all()
    # far fewer products than steps for long walks (Hoeffding bound)
    assert degree <= min(steps, math.ceil(math.sqrt(2 * steps *
                                                    math.log(2 / tol))))


@pytest.mark.parametrize('h,w', [(11, 13), (6, 17), (10, 9)])
def test_one_stencil_step_is_the_transition_matrix(h, w):
    # walking the N unit maps one step gives the columns of T
    n = h * w
    _, aff = _random_case(h, w, 5)
    eye = torch.eye(n).reshape(1, n, h, w)
    for method in RANDOM_WALK_METHODS:
        cols = random_walk(eye, aff, beta=8, logt=0, method=method)
        assert torch.allclose(cols.reshape(n, n).t(),
                              dense_transition(aff[0], h, w), atol=1e-6)


def test_stencil_transition_layout():
    # tall grid: the transposed frame has the shorter run (2H > W + 1)
    h, w = 11, 13
    _, aff = _random_case(h, w, 5)
    trans = stencil_transition(aff[0], h, w, beta=8)
    assert trans.transposed and (trans.height, trans.width) == (w, h)
    assert trans.weights.shape == (34, (5 - 1) * h + 7)
    # wide grid: row-major frame
    wide = stencil_transition(_random_case(5, 30, 5)[1][0], 5, 30, beta=8)
    assert not wide.transposed and wide.weights.shape == (34, 22)
    # the symmetric weights give back W: s_k = a_k^8 / sqrt(D_i D_j)
    ref = dense_transition(aff[0], h, w)
    degree = 1 / ref.diagonal()
    assert torch.allclose(trans.inv_sqrt_degree,
                          degree.reshape(h, w).t().reshape(-1).rsqrt(),
                          atol=1e-6)
    # run cells between two frame rows are not sources: weight 0
    gaps = trans.weights.reshape(34, -1)[:, 7:7 + 4]
    assert (gaps == 0).all()
    # at most 34 weights per cell instead of <= 69 (value, column) pairs
    assert trans.weights.numel() <= 34 * h * w
def test_transition_is_sparse_and_matches_dense():
    h, w = 11, 13
    _, aff = _random_case(h, w, 5)
    trans = sparse_transition(aff[0], h, w, beta=8)
    assert trans.layout == torch.sparse_csr
    n = h * w
    assert trans._nnz() <= 69 * n
    assert torch.allclose(trans.to_dense(), dense_transition(aff[0], h, w),
                          atol=1e-6)
    # rows are stochastic
    assert torch.allclose(trans.to_dense().sum(1), torch.ones(n), atol=1e-5)


def test_dense_transition_structure():
    # W_ii = 1 and W symmetric before normalisation
    h, w = 6, 10
    _, aff = _random_case(h, w, 5)
    trans = dense_transition(aff[0], h, w, beta=1)
    degree = 1 / trans.diagonal()
    weights = trans * degree[:, None]
    assert torch.allclose(weights, weights.t(), atol=1e-6)
    assert torch.allclose(weights.diagonal(), torch.ones(h * w))
    # nothing beyond radius 5: cells (0, 0) and (0, 5) are not linked
    assert weights[0, 5] == 0


@pytest.mark.parametrize('method', RANDOM_WALK_METHODS)
@pytest.mark.parametrize('h,w,aff_shape', [(8, 8, (4, 0)), (3, 12, (0, 4)),
                                           (4, 9, (0, 1)), (1, 1, (0, 0))])
def test_no_pairs_is_identity(method, h, w, aff_shape):
    scores = torch.rand(2, 3, h, w)
    aff = torch.rand(2, 34, *aff_shape)
    out = random_walk(scores, aff, method=method)
    assert torch.equal(out, scores) and out.data_ptr() != scores.data_ptr()


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('method', ['chebyshev', 'stencil'])
def test_stencil_follows_device_and_dtype(device, dtype, method):
    # 'meta' tensors fail on any mix with a tensor made on another device
    scores, aff = _random_case(12, 14, 5, batch=2, dtype=dtype)
    ours = random_walk(scores.to(device), aff.to(device), method=method)
    assert ours.device.type == device and ours.dtype == dtype
    assert ours.shape == scores.shape
    if device != 'meta':
        ref = random_walk(scores, aff, method='csr')
        assert torch.allclose(ours.cpu(), ref, atol=1e-4)


def test_walk_takes_float32_affinities_for_float64_scores():
    scores, aff = _random_case(12, 14, 5, dtype=torch.float64)
    ours = random_walk(scores, aff.float(), beta=2, logt=4)
    assert ours.dtype == torch.float64
    assert torch.allclose(ours, random_walk_dense(scores, aff, 2, 4),
                          atol=1e-6)


def test_no_gradient_is_tracked():
    scores, aff = _random_case(12, 14, 5)
    scores.requires_grad_(True)
    aff.requires_grad_(True)
    assert not random_walk(scores, aff, logt=3).requires_grad


def test_bad_shapes():
    scores = torch.rand(1, 2, 12, 12)
    with pytest.raises(ValueError, match='expected'):
        random_walk(scores, torch.rand(1, 34, 8, 5))
    with pytest.raises(ValueError, match='2 affinity maps'):
        random_walk(scores, torch.rand(2, 34, 8, 4))
    with pytest.raises(ValueError, match="method must be one of"):
        random_walk(scores, torch.rand(1, 34, 8, 4), method='dense')
    with pytest.raises(ValueError, match='non-negative integer'):
        random_walk(scores, torch.rand(1, 34, 8, 4), logt=-1)
    with pytest.raises(ValueError, match='tolerance'):
        random_walk(scores, torch.rand(1, 34, 8, 4), tol=0)
