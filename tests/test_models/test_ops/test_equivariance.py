import pytest
import torch
import torch.nn.functional as F

from wsss_mmseg.models.ops import (equivariance_loss, equivariance_targets,
                                   make_mosaic, random_affine, split_mosaic,
                                   warp)


def smooth(b=2, c=3, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(b, c, 4, 4, generator=g)
    return F.interpolate(low, size=(size, size), mode='bicubic',
                         align_corners=False)


def test_identity_and_flip():
    x = smooth()
    ident = random_affine(2, scale=(1, 1), max_translate=0, flip_prob=0)
    torch.testing.assert_close(warp(x, ident), x)
    flip = random_affine(2, scale=(1, 1), max_translate=0, flip_prob=1)
    torch.testing.assert_close(warp(x, flip), x.flip(-1))


def test_ranges_and_reproducibility():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = random_affine(64, (0.5, 2.0), 30, 0.2, 0.5, generator=g1)
    b = random_affine(64, (0.5, 2.0), 30, 0.2, 0.5, generator=g2)
    torch.testing.assert_close(a, b)
    assert a.shape == (64, 2, 3)
    # |det| = 1 / zoom^2, zoom in [0.5, 2]
    det = (a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]).abs()
    assert ((det >= 0.25 - 1e-6) & (det <= 4 + 1e-6)).all()
    assert (a[:, :, 2].abs() <= 0.2).all()
    flips = (a[:, 0, 0] * a[:, 1, 1] < 0).float().mean()
    assert 0.2 < flips < 0.8


def test_warp_commutes_with_patch_pooling():
    x = smooth(size=64)
    theta = random_affine(2, (1.2, 1.5), 10, 0.1, 0.5,
                          generator=torch.Generator().manual_seed(0))
    fine = F.avg_pool2d(warp(x, theta), 8)
    coarse = warp(F.avg_pool2d(x, 8), theta)
    # same geometry at both resolutions: only resampling error remains
    assert (fine - coarse).abs().mean() < 0.04  # measured 0.025
    other = warp(F.avg_pool2d(x, 8), theta.flip(0))
    assert (fine - other).abs().mean() > 5 * (fine - coarse).abs().mean()


def test_mosaic_layout_and_round_trip():
    x = torch.arange(8.).view(8, 1, 1, 1).expand(8, 2, 3, 5).contiguous()
    m = make_mosaic(x)
    assert m.shape == (2, 2, 6, 10)
    assert m[0, :, :3, :5].eq(0).all() and m[0, :, :3, 5:].eq(1).all()
    assert m[0, :, 3:, :5].eq(2).all() and m[1, :, 3:, 5:].eq(7).all()
    torch.testing.assert_close(split_mosaic(m), x)
    with pytest.raises(ValueError, match='multiple of 4'):
        make_mosaic(x[:6])
    with pytest.raises(ValueError, match='even size'):
        split_mosaic(m[..., :9])


def test_targets_and_valid_patches():
    probs = smooth(2, 4, size=8).softmax(1)
    ident = random_affine(2, scale=(1, 1), max_translate=0, flip_prob=0)
    targets, valid = equivariance_targets(probs, ident)
    torch.testing.assert_close(targets, probs)
    assert valid.all()
    # zooming out (s = 0.5) shows the first view in the central half only
    out = random_affine(2, scale=(0.5, 0.5), max_translate=0, flip_prob=0)
    targets, valid = equivariance_targets(probs, out)
    assert valid[:, 2:6, 2:6].all() and not valid[:, 0].any()
    torch.testing.assert_close(targets[:, :, 2:6, 2:6].sum(1),
                               torch.ones(2, 4, 4))


def test_loss_is_soft_cross_entropy_on_valid_patches():
    targets = smooth(1, 3, size=4).softmax(1)
    valid = torch.zeros(1, 4, 4, dtype=torch.bool)
    valid[0, 1, 2] = True
    probs_t = smooth(1, 3, size=4, seed=1).softmax(1).requires_grad_()
    loss = equivariance_loss(probs_t, targets, valid)
    expect = -(targets[0, :, 1, 2] * probs_t[0, :, 1, 2].log()).sum()
    torch.testing.assert_close(loss, expect)
    loss.backward()
    assert probs_t.grad[0, :, 0, 0].eq(0).all()
    # the targets themselves give the minimum (their entropy)
    assert equivariance_loss(targets, targets, valid) < loss
    assert equivariance_loss(probs_t, targets, valid & False) == 0
