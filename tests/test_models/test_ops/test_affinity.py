"""Affinity pairs, pair labels and the AffinityNet loss terms (PSA)."""
import math

import pytest
import torch

from wsss_mmseg.models.ops.affinity import (affinity_cross_entropy,
                                            affinity_from_features,
                                            affinity_label_masks,
                                            affinity_offsets, pair_counts,
                                            shifted_pairs, source_window)


def test_offsets_radius5():
    offsets = affinity_offsets(5)
    assert len(offsets) == 34
    assert len(set(offsets)) == 34
    # every unordered pair within the radius exactly once
    within = {(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
              if 0 < dy * dy + dx * dx < 25}
    assert len(within) == 68
    both = set(offsets) | {(-dy, -dx) for dy, dx in offsets}
    assert both == within
    assert offsets[:4] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    assert (3, 4) not in offsets and (4, 3) not in offsets  # 25 !< 25
    assert (3, 3) in offsets and (3, -3) in offsets  # 18 < 25
    assert (3, -3) in offsets and (4, 2) in offsets


def test_pair_counts_56():
    # border rule: sources rows [0, 52), cols [4, 52) -> 52 * 48 = 2,496
    assert source_window(56, 56) == (0, 52, 4, 52)
    assert pair_counts(56, 56) == (34, 2496)
    assert 34 * 2496 == 84864


def test_small_grid_has_no_pairs():
    # a 64x64 input gives an 8x8 grid: no source has all targets inside
    assert pair_counts(8, 8)[1] == 0
    feats = torch.rand(1, 4, 8, 8)
    assert affinity_from_features(feats).shape == (1, 34, 4, 0)


def test_shifted_pairs_targets_inside_grid():
    h, w = 9, 12
    idx = torch.arange(h * w).reshape(1, 1, h, w)
    src, dst = shifted_pairs(idx)
    assert src.shape == (1, 1, 1, 5, 4) and dst.shape == (1, 1, 34, 5, 4)
    # each target is the source moved by its offset
    for k, (dy, dx) in enumerate(affinity_offsets()):
        assert torch.equal(dst[0, 0, k], src[0, 0, 0] + dy * w + dx)


def test_affinity_from_features_mean_and_sum():
    feats = torch.zeros(1, 2, 6, 12)
    feats[0, :, 0, 5] = torch.tensor([1.0, 3.0])  # source (0, 5)
    aff = affinity_from_features(feats, reduction='mean')
    # source (0, 5) is window cell (0, 1); the pair to (0, 6) is offset 0
    assert aff[0, 0, 0, 1].item() == pytest.approx(math.exp(-2.0))
    # source (0, 4) -> (0, 5) also touches the changed cell
    assert aff[0, 0, 0, 0].item() == pytest.approx(math.exp(-2.0))
    assert aff[0, 0, 0, 3].item() == pytest.approx(1.0)
    aff_sum = affinity_from_features(feats, reduction='sum')
    assert aff_sum[0, 0, 0, 1].item() == pytest.approx(math.exp(-4.0))
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        affinity_from_features(feats, reduction='max')


def test_label_masks_hand_made():
    # 5x9 grid: one source cell (0, 4); its 34 targets cover rows 0..4
    labels = torch.zeros(1, 5, 9, dtype=torch.long)
    labels[0, 0, 4] = 1          # source: class 1
    labels[0, 0, 5] = 1          # (0, 1): same class -> fg_pos
    labels[0, 0, 6] = 255        # (0, 2): ignore -> none
    labels[0, 1, 4] = 2          # (1, 0): other class -> neg
    bg_pos, fg_pos, neg = affinity_label_masks(labels)
    assert bg_pos.shape == (1, 34, 1, 1)
    offsets = affinity_offsets()
    k = {o: i for i, o in enumerate(offsets)}
    assert fg_pos[0, k[(0, 1)], 0, 0] and fg_pos.sum() == 1
    assert not (bg_pos | fg_pos | neg)[0, k[(0, 2)], 0, 0]
    assert neg[0, k[(1, 0)], 0, 0]
    # all other targets are background, the source is class 1 -> neg
    assert neg.sum() == 34 - 2 and bg_pos.sum() == 0
    labels[0, 0, 4] = 0          # source background
    bg_pos, fg_pos, neg = affinity_label_masks(labels)
    assert fg_pos.sum() == 0
    assert neg.sum() == 2        # to the class 1 and class 2 cells
    assert bg_pos.sum() == 34 - 3
    # ignore source: no pairs at all
    labels[0, 0, 4] = 255
    masks = affinity_label_masks(labels)
    assert sum(int(m.sum()) for m in masks) == 0
    with pytest.raises(ValueError, match=r'\(B, H, W\)'):
        affinity_label_masks(labels[0])


def test_cross_entropy_hand_made():
    aff = torch.tensor([0.5, 0.25, 0.8, 0.1]).reshape(1, 4, 1, 1)
    bg = torch.tensor([1, 1, 0, 0], dtype=torch.bool).reshape(1, 4, 1, 1)
    fg = torch.tensor([0, 0, 1, 0], dtype=torch.bool).reshape(1, 4, 1, 1)
    ng = torch.tensor([0, 0, 0, 1], dtype=torch.bool).reshape(1, 4, 1, 1)
    eps = 1e-5
    l_bg, l_fg, l_neg = affinity_cross_entropy(aff, bg, fg, ng, eps)
    exp_bg = -(math.log(0.5 + eps) + math.log(0.25 + eps)) / (2 + eps)
    exp_fg = -math.log(0.8 + eps) / (1 + eps)
    exp_neg = -math.log(1 + eps - 0.1) / (1 + eps)
    assert l_bg.item() == pytest.approx(exp_bg, rel=1e-6)
    assert l_fg.item() == pytest.approx(exp_fg, rel=1e-6)
    assert l_neg.item() == pytest.approx(exp_neg, rel=1e-6)


def test_cross_entropy_empty_terms_are_zero_with_grad():
    aff = torch.full((2, 34, 3, 3), 1.0, requires_grad=True)  # log(1+e-1)
    none = torch.zeros(2, 34, 3, 3, dtype=torch.bool)
    terms = affinity_cross_entropy(aff, none, none, none)
    total = sum(terms)
    assert all(t.item() == 0 for t in terms)
    total.backward()
    assert torch.isfinite(aff.grad).all() and (aff.grad == 0).all()
    # a = 1 with neg pairs: finite thanks to eps
    neg = torch.ones_like(none)
    l_neg = affinity_cross_entropy(aff, none, none, neg)[2]
    assert torch.isfinite(l_neg) and l_neg.item() == pytest.approx(
        -math.log(1e-5), rel=1e-3)
