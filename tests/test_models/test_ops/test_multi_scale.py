import pytest
import torch
import torch.nn.functional as F

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.ops import multi_scale_flip


def _ramp_fn(x):
    """Asymmetric score map: channel c at column j = x_c * j."""
    return x * torch.arange(x.shape[-1], dtype=x.dtype)


def test_identity_flip_is_undone():
    # an asymmetric input: the flipped pass must come back un-mirrored
    x = torch.arange(20.).reshape(1, 1, 4, 5)
    for fusion in ('sum', 'mean', 'max'):
        out = multi_scale_flip(lambda t: t, x, flip=True, fusion=fusion)
        expected = 2 * x if fusion == 'sum' else x
        torch.testing.assert_close(out, expected)


def test_fusions_hand_computed():
    x = torch.ones(1, 1, 2, 5)
    cols = torch.arange(5.)
    flipped = 4 - cols  # unflip(ramp(flip(x)))[j] = W - 1 - j
    out = multi_scale_flip(_ramp_fn, x, flip=True, fusion='sum')
    torch.testing.assert_close(out[0, 0, 0], cols + flipped)
    out = multi_scale_flip(_ramp_fn, x, flip=True, fusion='mean')
    torch.testing.assert_close(out[0, 0, 0], (cols + flipped) / 2)
    out = multi_scale_flip(_ramp_fn, x, flip=True, fusion='max')
    torch.testing.assert_close(out[0, 0, 0], torch.maximum(cols, flipped))
    out = multi_scale_flip(_ramp_fn, x, flip=False)
    torch.testing.assert_close(out[0, 0, 0], cols)


def test_scales_and_sizes():
    calls = []

    def fn(t):
        calls.append(tuple(t.shape[-2:]))
        # a lower-resolution output is resized back to the input size
        return F.avg_pool2d(t[:, :2], 2)

    x = torch.ones(2, 3, 8, 12)
    out = multi_scale_flip(fn, x, scales=(1.0, 0.5, (6, 6)), fusion='sum')
    assert calls == [(8, 12), (4, 6), (6, 6)]
    assert out.shape == (2, 2, 8, 12)
    torch.testing.assert_close(out, torch.full((2, 2, 8, 12), 3.0))
    out = multi_scale_flip(fn, x, scales=(1.0, 0.5), flip=True,
                           fusion='mean')
    torch.testing.assert_close(out, torch.ones(2, 2, 8, 12))


def test_max_fusion_over_scales():
    seen = iter([1.0, 3.0, 2.0])

    def fn(t):
        return torch.full_like(t[:, :1], next(seen))

    out = multi_scale_flip(fn, torch.zeros(1, 3, 4, 4),
                           scales=(1.0, 0.5, 2.0), fusion='max')
    torch.testing.assert_close(out, torch.full((1, 1, 4, 4), 3.0))


def test_bad_arguments():
    x = torch.zeros(1, 3, 4, 4)
    with pytest.raises(ValueError, match="fusion must be one of"):
        multi_scale_flip(lambda t: t, x, fusion='median')
    with pytest.raises(ValueError, match='at least one scale'):
        multi_scale_flip(lambda t: t, x, scales=())
