"""Tests of VGG16Switches (SPN encoder) and its checkpoint conversion."""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from wsss_mmseg.models.backbones.vgg16_switches import (
    VGG16_WIDTHS, PoolSwitch, VGG16Switches, convert_vgg16_state_dict)
from wsss_mmseg.registry import MODELS

TINY = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16], [16, 16, 16]]


def _torchvision_layout(widths):
    """A state dict in torchvision vgg16 layout (features.N + classifier)."""
    sd, idx, cin = OrderedDict(), 0, 3
    for stage in widths:
        for cout in stage:
            sd[f'features.{idx}.weight'] = torch.randn(cout, cin, 3, 3)
            sd[f'features.{idx}.bias'] = torch.randn(cout)
            idx += 2  # conv, relu
            cin = cout
        idx += 1  # pool
    sd['classifier.0.weight'] = torch.randn(7, cin * 49)
    sd['classifier.0.bias'] = torch.randn(7)
    return sd


def _mmpretrain_layout(widths):
    """A state dict in mmpretrain VGG layout (backbone.features.N.conv)."""
    sd, idx, cin = OrderedDict(), 0, 3
    for stage in widths:
        for cout in stage:
            sd[f'backbone.features.{idx}.conv.weight'] = torch.randn(
                cout, cin, 3, 3)
            sd[f'backbone.features.{idx}.conv.bias'] = torch.randn(cout)
            idx += 1
            cin = cout
        idx += 1
    sd['head.fc.weight'] = torch.randn(10, 7)
    return sd


def test_forward_shapes_and_switches():
    model = VGG16Switches(arch=TINY, extra_conv_channels=12)
    x = torch.randn(2, 3, 70, 66)
    z, switches = model(x)
    assert z.shape == (2, 12, 2, 2)
    assert len(switches) == 5 and all(
        isinstance(s, PoolSwitch) for s in switches)
    assert switches[0].input_size == (70, 66)
    assert switches[4].input_size == (4, 4)
    assert switches[4].indices.shape == (2, 16, 2, 2)
    # unpooling with the switches puts values where the maxima were
    pooled_in = torch.randn(1, 1, 5, 5)
    out, idx = F.max_pool2d(pooled_in, 2, 2, return_indices=True)
    back = F.max_unpool2d(out, idx, 2, 2, output_size=(5, 5))
    assert back.shape == (1, 1, 5, 5)
    assert torch.equal(back.flatten()[idx.flatten()], out.flatten())


def test_frozen_encoder_trainable_extra_conv():
    model = MODELS.build(dict(type='VGG16Switches', arch=TINY,
                              extra_conv_channels=8))
    assert all(not p.requires_grad for p in model.stages.parameters())
    assert all(p.requires_grad for p in model.extra_conv.parameters())
    z, _ = model(torch.randn(1, 3, 64, 64))
    z.sum().backward()
    assert model.extra_conv.weight.grad is not None
    assert model.stages[0][0].weight.grad is None
    unfrozen = VGG16Switches(arch=TINY, frozen=False)
    assert all(p.requires_grad for p in unfrozen.parameters())


@pytest.mark.parametrize('layout', [_torchvision_layout, _mmpretrain_layout])
def test_convert_and_load_checkpoint(tmp_path, layout):
    sd = layout(TINY)
    converted = convert_vgg16_state_dict(sd)
    assert len(converted) == 26
    path = tmp_path / 'vgg.pth'
    torch.save({'state_dict': sd}, path)
    model = VGG16Switches(
        arch=TINY, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    weights = [v for k, v in sd.items() if k.endswith('weight') and
               v.dim() == 4]
    assert torch.equal(model.stages[0][0].weight, weights[0])
    assert torch.equal(model.stages[2][1].weight, weights[5])
    assert torch.equal(model.stages[4][2].weight, weights[12])
    # already-converted keys round-trip
    again = convert_vgg16_state_dict(
        {f'backbone.{k}': v for k, v in model.state_dict().items()})
    assert set(again) == set(model.state_dict())


def test_full_width_key_count():
    model = VGG16Switches(arch='vgg16')
    sd = {k: v for k, v in model.state_dict().items()
          if not k.startswith('extra_conv')}
    assert len(sd) == 26
    assert model.stages[4][2].weight.shape == (512, 512, 3, 3)
    assert [len(s) for s in VGG16_WIDTHS] == [2, 2, 3, 3, 3]


def test_bad_checkpoint_and_input():
    with pytest.raises(KeyError, match='no VGG-16 convolution'):
        convert_vgg16_state_dict({'fc.weight': torch.zeros(2, 2)})
    sd = _torchvision_layout(TINY)
    sd.pop('features.28.weight')
    sd.pop('features.28.bias')
    with pytest.raises(KeyError, match='expected 13'):
        convert_vgg16_state_dict(sd)
    with pytest.raises(KeyError, match='arch'):
        VGG16Switches(arch='vgg19')
    with pytest.raises(ValueError, match='too small'):
        VGG16Switches(arch=TINY)(torch.randn(1, 3, 16, 16))


def test_norm_option():
    model = VGG16Switches(arch=TINY, frozen=False,
                          norm_cfg=dict(type='BN'))
    assert len(model.norms) == 5 and len(model.norms[2]) == 3
    z, _ = model(torch.randn(2, 3, 64, 64))
    z.sum().backward()
    assert model.norms[0][0].weight.grad is not None
    frozen = VGG16Switches(arch=TINY, norm_cfg=dict(type='BN')).train()
    assert not frozen.norms[0][0].training
    assert not frozen.norms[0][0].weight.requires_grad
