"""Tests of SwitchUnpoolUpsampler (SPN feature upsampler)."""
import pytest
import torch

from wsss_mmseg.models.backbones.vgg16_switches import VGG16Switches
from wsss_mmseg.models.necks.switch_unpool_upsampler import \
    SwitchUnpoolUpsampler

TINY = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16], [16, 16, 16]]


@pytest.mark.parametrize('size', [(64, 64), (80, 72)])
def test_stride16_output_and_gradients(size):
    enc = VGG16Switches(arch=TINY, extra_conv_channels=12)
    neck = SwitchUnpoolUpsampler(in_channels=12, channels=(16, 16, 8, 10),
                                 pool5_channels=16)
    z, switches = enc(torch.randn(2, 3, *size))
    (feats, ) = neck((z, switches))
    assert feats.shape == (2, 10, size[0] // 16, size[1] // 16)
    assert feats.min() >= 0  # ReLU after the last BN
    feats.sum().backward()
    assert all(p.grad is not None for p in neck.parameters())
    assert enc.extra_conv.weight.grad is not None


def test_unpool_uses_pool5_switches():
    enc = VGG16Switches(arch=TINY, extra_conv_channels=None)
    neck = SwitchUnpoolUpsampler(in_channels=16, channels=(16, 16, 16, 16),
                                 pool5_channels=16).eval()
    z, switches = enc(torch.randn(1, 3, 64, 64))
    x = neck.blocks[1](neck.blocks[0](z))
    unpooled = torch.nn.functional.max_unpool2d(
        x, switches[-1].indices, 2, 2, output_size=switches[-1].input_size)
    # exactly one non-zero per 2x2 window, at the switch position
    nonzero = (unpooled != 0).float().view(1, 16, 2, 2, 2, 2)
    assert nonzero.sum() <= 16 * 4
    flat = unpooled.flatten(2).gather(2, switches[-1].indices.flatten(2))
    torch.testing.assert_close(flat, x.flatten(2))


def test_config_errors():
    with pytest.raises(ValueError, match='4 deconvolution'):
        SwitchUnpoolUpsampler(channels=(8, 8))
    with pytest.raises(ValueError, match='pool5_channels'):
        SwitchUnpoolUpsampler(channels=(8, 8, 8, 8), pool5_channels=16)
