"""DeepLab-LargeFOV VGG-16 of PSA's VGG variant."""
import pytest
import torch

from wsss_mmseg.models.backbones import VGG16LargeFOV

TINY = dict(channels=[4, 8, 8, 16, 16], fc_channels=16)


def test_outputs_stride8():
    model = VGG16LargeFOV(arch=TINY)
    outs = model(torch.rand(2, 3, 64, 48))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 8, 6)] * 3
    assert model.out_channels == (16, 16, 16)


def test_layout_and_freezing():
    cam = VGG16LargeFOV(fc6_dilation=1)
    aff = VGG16LargeFOV(fc6_dilation=4)
    assert cam.fc6.dilation == (1, 1) and aff.fc6.dilation == (4, 4)
    assert cam.conv5_1.dilation == (2, 2) and cam.conv4_3.dilation == (1, 1)
    assert cam.fc6.out_channels == 1024 and cam.fc7.out_channels == 1024
    assert not cam.conv2_2.weight.requires_grad
    assert cam.conv3_1.weight.requires_grad
    with pytest.raises(KeyError, match='unknown arch'):
        VGG16LargeFOV(arch='vgg19')
