"""ResNet-38 (wider ResNet A1, OS 8) of PSA."""
import pytest
import torch
import torch.nn as nn

from wsss_mmseg.models.backbones import ResNet38d

TINY = dict(
    stem_channels=8,
    stage_channels=[(8, 8), (8, 16), (16, 16), (16, 16)],
    stage_blocks=[1, 1, 2, 2],
    bottleneck_channels=[16, 16])


def test_tiny_outputs_stride8():
    model = ResNet38d(arch=TINY)
    outs = model(torch.rand(2, 3, 64, 56))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 8, 7)] * 3
    assert model.out_channels == (16, 16, 16)
    last = ResNet38d(arch=TINY, out_indices=(2, ))(torch.rand(1, 3, 64, 64))
    assert len(last) == 1 and (last[0] >= 0).all()  # after bn7 + ReLU


def test_a1_layout():
    model = ResNet38d(arch='a1')
    assert model.out_channels == (512, 1024, 4096)
    assert [len(getattr(model, f'layer{i}')) for i in (2, 3, 4, 5)] == [
        3, 3, 6, 3
    ]
    # the dilations of the authors' net
    assert model.layer5[0].conv1.dilation == (1, 1)
    assert model.layer5[0].conv2.dilation == (2, 2)
    assert model.layer5[1].conv1.dilation == (2, 2)
    assert model.layer6.conv2.dilation == (4, 4)
    assert model.layer7.conv2.dilation == (4, 4)
    assert model.layer6.dropout2.p == pytest.approx(0.3)
    assert model.layer7.dropout3.p == pytest.approx(0.5)
    assert model.layer4[0].conv1.stride == (2, 2)
    assert model.layer5[0].conv1.stride == (1, 1)


def test_frozen_bn_and_stages():
    model = ResNet38d(arch=TINY, frozen_stages=1, norm_eval=True)
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert not m.training
            assert not m.weight.requires_grad and not m.bias.requires_grad
    assert not model.conv1a.weight.requires_grad
    assert not any(p.requires_grad for p in model.layer2.parameters())
    assert model.layer3[0].conv1.weight.requires_grad
    # running statistics do not move in train mode
    before = model.layer3[0].bn1.running_mean.clone()
    model(torch.rand(2, 3, 32, 32) * 5)
    assert torch.equal(before, model.layer3[0].bn1.running_mean)
    # paper setting: conv1a only
    model = ResNet38d(arch=TINY, frozen_stages=0).train()
    assert not model.conv1a.weight.requires_grad
    assert model.layer2[0].conv1.weight.requires_grad
    # trainable BN for from-scratch toy runs
    model = ResNet38d(arch=TINY, frozen_stages=-1, norm_eval=False).train()
    assert model.layer2[0].bn1.training and model.conv1a.weight.requires_grad


def test_bad_arch():
    with pytest.raises(KeyError, match='unknown arch'):
        ResNet38d(arch='b2')
    with pytest.raises(KeyError, match='needs exactly the keys'):
        ResNet38d(arch=dict(stem_channels=8))
    with pytest.raises(ValueError, match='frozen_stages'):
        ResNet38d(arch=TINY, frozen_stages=3)


def test_stem_stride4_keeps_output_stride_and_keys():
    default = ResNet38d(arch=TINY)
    model = ResNet38d(arch=TINY, stem_stride=4)
    outs = model(torch.rand(2, 3, 64, 56))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 8, 7)] * 3
    assert model.conv1a.stride == (2, 2)
    assert isinstance(model.stem_pool, nn.MaxPool2d)
    assert default.stem_pool is None
    # the pool takes over the strides of layer2 and layer3
    assert model.layer2[0].conv1.stride == (1, 1)
    assert model.layer3[0].conv1.stride == (1, 1)
    assert model.layer4[0].conv1.stride == (2, 2)
    assert default.layer2[0].conv1.stride == (2, 2)
    # no new parameters; layer2's first block keeps its shape now, so its
    # 1x1 shortcut becomes the identity
    assert set(model.state_dict()) == set(default.state_dict()) - {
        'layer2.0.shortcut.weight'
    }
    with pytest.raises(ValueError, match='stem_stride'):
        ResNet38d(arch=TINY, stem_stride=2)


def test_residual_scale_starts_as_shortcut():
    torch.manual_seed(0)
    model = ResNet38d(
        arch=TINY, residual_scale=True, frozen_stages=-1,
        norm_eval=False).train()
    x = torch.randn(2, 8, 16, 16)
    block = model.layer2[0]  # 8 -> 8 channels, stride 2: 1x1 shortcut
    out, act = block(x)
    assert torch.equal(out, block.shortcut(act))
    same = model.layer5[1]  # identity shortcut
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(same(x)[0], x)
    bottleneck = model.layer7
    x = torch.randn(2, 16, 8, 8)
    out, act = bottleneck(x)
    assert torch.equal(out, bottleneck.shortcut(act))
    # the scales learn from the first step; the branch's convs start once a
    # scale is non-zero (unlike a zero-initialised last conv)
    model(torch.rand(2, 3, 64, 64))[2].mean().backward()
    assert block.scale.grad.abs().sum() > 0
    assert bottleneck.scale.grad.abs().sum() > 0
    assert block.conv2.weight.grad.abs().sum() == 0
    # off by default: the authors' checkpoints have no scale entries
    assert not any('scale' in k for k in ResNet38d(arch=TINY).state_dict())
    assert sum('scale' in k for k in model.state_dict()) == 8
