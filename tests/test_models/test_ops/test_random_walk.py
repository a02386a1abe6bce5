"""Sparse random walk of PSA equals the authors' dense squaring."""
import pytest
import torch

from wsss_mmseg.models.ops.affinity import pair_counts
from wsss_mmseg.models.ops.random_walk import (dense_transition, random_walk,
                                               random_walk_dense,
                                               sparse_transition)


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


@pytest.mark.parametrize('h,w,radius', [(6, 5, 2), (6, 5, 3), (12, 14, 5),
                                        (20, 17, 5), (9, 9, 5)])
def test_sparse_equals_dense(h, w, radius):
    scores, aff = _random_case(h, w, radius, batch=2)
    assert aff.numel() > 0
    ours = random_walk(scores, aff, beta=8, logt=8, radius=radius)
    ref = random_walk_dense(scores, aff, beta=8, logt=8, radius=radius)
    assert (ours - ref).abs().max().item() <= 1e-4
    # the walk mixes: the result is not the input
    assert (ours - scores).abs().max().item() > 1e-3


def test_sparse_equals_dense_float64_tight():
    scores, aff = _random_case(16, 15, 5, dtype=torch.float64)
    ours = random_walk(scores, aff, beta=2, logt=5)
    ref = random_walk_dense(scores, aff, beta=2, logt=5)
    assert (ours - ref).abs().max().item() < 1e-10


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


def test_no_pairs_is_identity():
    scores = torch.rand(1, 2, 8, 8)
    aff = torch.rand(1, 34, 4, 0)
    assert torch.allclose(random_walk(scores, aff), scores)


def test_bad_shapes():
    scores = torch.rand(1, 2, 12, 12)
    with pytest.raises(ValueError, match='expected'):
        random_walk(scores, torch.rand(1, 34, 8, 5))
    with pytest.raises(ValueError, match='2 affinity maps'):
        random_walk(scores, torch.rand(2, 34, 8, 4))
