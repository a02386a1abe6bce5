import math

import pytest
import torch

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.ops import (PSA_CAM_SCALES, cam_background,
                                   class_activation_map, constant_background,
                                   multi_scale_cam, normalize_cam_by_max,
                                   power_background)


def _feats():
    # two channels on a 1x2 grid: f0 = [1, 2], f1 = [3, -1]
    return torch.tensor([[[[1.0, 2.0]], [[3.0, -1.0]]]])


def test_cam_hand_computed():
    weight = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    cams = class_activation_map(_feats(), weight)
    # class 0: [1+3, 2-1] = [4, 1]; class 1: [1-3, 2+1] = [-2, 3] -> ReLU
    expected = torch.tensor([[[[4.0, 1.0]], [[0.0, 3.0]]]])
    torch.testing.assert_close(cams, expected)
    # conv-shaped weights give the same maps
    torch.testing.assert_close(
        class_activation_map(_feats(), weight[..., None, None]), expected)
    # VGG variant: square root of the rectified map
    torch.testing.assert_close(
        class_activation_map(_feats(), weight, use_sqrt=True),
        torch.tensor([[[[2.0, 1.0]], [[0.0, math.sqrt(3.0)]]]]))
    # bias is added before the ReLU
    torch.testing.assert_close(
        class_activation_map(_feats(), weight, bias=torch.tensor([0., -2.])),
        torch.tensor([[[[4.0, 1.0]], [[0.0, 1.0]]]]))


def test_cam_matches_gap_logits():
    """Mean of the un-rectified CAM equals the GAP classifier logit."""
    torch.manual_seed(0)
    feats = torch.randn(2, 5, 4, 3)
    weight = torch.randn(3, 5)
    logits = feats.mean((2, 3)) @ weight.t()
    raw = torch.einsum('ck,bkhw->bchw', weight, feats)
    torch.testing.assert_close(raw.mean((2, 3)), logits)
    torch.testing.assert_close(class_activation_map(feats, weight),
                               raw.clamp(min=0))


def test_cam_bad_shapes():
    with pytest.raises(ValueError, match='2 input channels but feats have 3'):
        class_activation_map(torch.zeros(1, 3, 2, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r'\(B, K, h, w\)'):
        class_activation_map(torch.zeros(3, 2, 2), torch.zeros(4, 3))


def test_normalize_by_max():
    cams = torch.tensor([[[[0.0, 2.0, 4.0]], [[0.0, 0.0, 0.0]]]])
    out = normalize_cam_by_max(cams)
    torch.testing.assert_close(
        out[0, 0, 0], torch.tensor([0.0, 2 / (4 + 1e-5), 4 / (4 + 1e-5)]))
    assert out[0, 1].eq(0).all()  # absent class stays 0, no NaN
    # the maximum over valid pixels only; invalid pixels become 0
    mask = torch.tensor([[[[True, True, False]]]])
    out = normalize_cam_by_max(cams, valid_mask=mask)
    torch.testing.assert_close(out[0, 0, 0],
                               torch.tensor([0.0, 2 / (2 + 1e-5), 0.0]))
    assert out[0, 1].eq(0).all()
    out3 = normalize_cam_by_max(cams, valid_mask=mask[:, 0])
    torch.testing.assert_close(out3, out)


def test_normalize_is_per_image_and_class():
    torch.manual_seed(0)
    cams = torch.rand(3, 4, 5, 6) * torch.arange(1, 5.)[None, :, None, None]
    out = normalize_cam_by_max(cams, eps=0.0)
    torch.testing.assert_close(out.amax((2, 3)), torch.ones(3, 4))


def test_constant_background():
    cams = torch.rand(2, 3, 4, 5)
    bg = constant_background(cams, 0.3)
    assert bg.shape == (2, 1, 4, 5)
    assert bg.eq(0.3).all()
    torch.testing.assert_close(cam_background(cams), torch.full(
        (2, 1, 4, 5), 0.2))


def test_power_background_hand_computed():
    cams = torch.tensor([[[[0.5, 1.0, 0.0]], [[0.25, 0.0, 0.0]]]])
    bg = power_background(cams, alpha=2)
    # max_c = [0.5, 1, 0] -> (1 - max)^2 = [0.25, 0, 1]
    torch.testing.assert_close(bg, torch.tensor([[[[0.25, 0.0, 1.0]]]]))
    torch.testing.assert_close(
        cam_background(cams, mode='power', alpha=2), bg)
    # higher alpha shrinks the background score
    assert (power_background(cams, 32) <= power_background(cams, 4)).all()
    # no foreground class at all: background everywhere
    assert power_background(torch.zeros(1, 0, 2, 2), 4).eq(1).all()
    with pytest.raises(ValueError, match="'constant' or 'power'"):
        cam_background(cams, mode='otsu')


def _ramp_fn(x):
    """A position-dependent (asymmetric) map: channel c = x_c * column."""
    cols = torch.arange(x.shape[-1], dtype=x.dtype)
    return x[:, :2] * cols


def test_multi_scale_cam_flip_sum():
    x = torch.ones(1, 3, 4, 5)
    out = multi_scale_cam(_ramp_fn, x, scales=(1.0, ), flip=True)
    # unflip(ramp(flip(x)))[j] = W - 1 - j, so the sum is W - 1 everywhere
    torch.testing.assert_close(out, torch.full((1, 2, 4, 5), 4.0))
    out = multi_scale_cam(_ramp_fn, x, scales=(1.0, ), flip=False)
    torch.testing.assert_close(out[0, 0, 0], torch.arange(5.))


def test_multi_scale_cam_sums_scales_and_zeros_absent():
    sizes = []

    def const_fn(x):
        sizes.append(tuple(x.shape[-2:]))
        return x.new_ones(x.shape[0], 3, 2, 2)

    x = torch.zeros(2, 3, 8, 8)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    out = multi_scale_cam(const_fn, x, labels, scales=PSA_CAM_SCALES)
    assert sorted(set(sizes)) == [(4, 4), (8, 8), (12, 12), (16, 16)]
    assert len(sizes) == 8  # 4 scales x {image, flip}
    assert out.shape == (2, 3, 8, 8)
    expected = 8.0 * labels[..., None, None].expand(2, 3, 8, 8)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match='fg_labels of shape'):
        multi_scale_cam(const_fn, x, labels[:, :2])
