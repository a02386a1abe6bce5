"""Adaptive-K pooling on hand-computed score lists (methods.md §3.2)."""
import pytest
import torch

from wsss_mmseg.models.ops import POOL_MODES, adaptive_k_pool

# one image, 8 patches, 3 classes
# class 0: sorted 0.95 0.90 0.88 0.84 0.82 0.70 0.30 0.10
#          differences to the max: 0 .05 .07 .11 .13 .25 ...
# class 1: all 0.5 (ties)
# class 2: one patch at 1, the rest 0
CLASS0 = [0.84, 0.90, 0.30, 0.95, 0.10, 0.82, 0.88, 0.70]
CLASS1 = [0.5] * 8
CLASS2 = [0, 0, 0, 0, 0, 1.0, 0, 0]


def scores():
    return torch.tensor([CLASS0, CLASS1, CLASS2],
                        dtype=torch.float64).T[None].contiguous()  # (1, 8, 3)


@pytest.mark.parametrize(
    'mode, kwargs, expected, expected_k',
    [
        # s1 - sj <= 0.1 -> 0.95 0.90 0.88 ; ties all kept up to K_max
        ('akp', dict(delta=0.1, k_max=6), [(0.95 + 0.9 + 0.88) / 3, 0.5, 1.0
                                            ], [3, 6, 1]),
        # smaller K_max caps the ties
        ('akp', dict(delta=0.1, k_max=2), [(0.95 + 0.9) / 2, 0.5, 1.0],
         [2, 2, 1]),
        # sj / s1 >= 0.8 -> sj >= 0.76 -> 5 patches
        ('akp-ratio', dict(delta=0.8, k_max=6),
         [(0.95 + 0.9 + 0.88 + 0.84 + 0.82) / 5, 0.5, 1.0], [5, 6, 1]),
        ('topk', dict(k_max=6),
         [(0.95 + 0.9 + 0.88 + 0.84 + 0.82 + 0.7) / 6, 0.5, 1 / 6],
         [6, 6, 6]),
        ('max', dict(), [0.95, 0.5, 1.0], [1, 1, 1]),
        ('avg', dict(), [sum(CLASS0) / 8, 0.5, 1 / 8], [8, 8, 8]),
    ])
def test_modes_hand_computed(mode, kwargs, expected, expected_k):
    pooled, k = adaptive_k_pool(scores(), mode=mode, return_k=True, **kwargs)
    assert pooled.shape == (1, 3)
    torch.testing.assert_close(
        pooled[0], torch.tensor(expected, dtype=torch.float64))
    assert k[0].tolist() == expected_k


def test_k_max_larger_than_patches():
    x = torch.tensor([[[0.9], [0.85], [0.5]]])  # (1, 3, 1)
    pooled, k = adaptive_k_pool(x, 'akp', delta=0.1, k_max=6, return_k=True)
    assert k.item() == 2
    assert pooled.item() == pytest.approx((0.9 + 0.85) / 2)


@pytest.mark.parametrize('mode, selected', [
    ('akp', [3, 1, 6]),
    ('max', [3]),
    ('topk', [3, 1, 6, 0, 5, 7]),
])
def test_gradient_only_through_selected(mode, selected):
    x = scores()[..., :1].clone().requires_grad_(True)  # class 0 only
    adaptive_k_pool(x, mode=mode, delta=0.1, k_max=6).sum().backward()
    grad = x.grad[0, :, 0]
    expected = torch.zeros(8, dtype=torch.float64)
    expected[selected] = 1 / len(selected)
    torch.testing.assert_close(grad, expected)


def test_batched_matches_per_image():
    torch.manual_seed(0)
    x = torch.rand(4, 50, 7)
    batched = adaptive_k_pool(x, 'akp', delta=0.2, k_max=6)
    for b in range(4):
        single = adaptive_k_pool(x[b:b + 1], 'akp', delta=0.2, k_max=6)
        torch.testing.assert_close(batched[b:b + 1], single)
    assert set(POOL_MODES) == {'max', 'avg', 'topk', 'akp', 'akp-ratio'}


def test_bad_input():
    with pytest.raises(ValueError, match='unknown mode'):
        adaptive_k_pool(torch.rand(1, 4, 2), mode='median')
    with pytest.raises(ValueError, match=r'\(B, N, C\)'):
        adaptive_k_pool(torch.rand(4, 2))
    with pytest.raises(ValueError, match='k_max'):
        adaptive_k_pool(torch.rand(1, 4, 2), k_max=0)
