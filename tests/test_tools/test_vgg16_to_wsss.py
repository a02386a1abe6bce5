"""Test of tools/model_converters/vgg16_to_wsss.py on state dicts written
here (torchvision and mmpretrain layouts at full VGG-16 shapes)."""
import importlib.util
import os.path as osp
from collections import OrderedDict

import pytest
import torch

from wsss_mmseg.models.backbones.vgg16_switches import (VGG16_WIDTHS,
                                                        VGG16Switches)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location(
    'vgg16_to_wsss', osp.join(REPO, 'tools', 'model_converters',
                              'vgg16_to_wsss.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def _torchvision_vgg16():
    sd, idx, cin = OrderedDict(), 0, 3
    for stage in VGG16_WIDTHS:
        for cout in stage:
            sd[f'features.{idx}.weight'] = torch.randn(cout, cin, 3, 3) * .01
            sd[f'features.{idx}.bias'] = torch.randn(cout)
            idx, cin = idx + 2, cout
        idx += 1
    for i, (o, n) in enumerate([(4096, 25088), (4096, 4096), (1000, 4096)]):
        sd[f'classifier.{3 * i}.weight'] = torch.zeros(1, 1).expand(o, n)
        sd[f'classifier.{3 * i}.bias'] = torch.zeros(o)
    return sd


def test_convert_torchvision_file_and_load(tmp_path):
    src, dst = tmp_path / 'vgg16.pth', tmp_path / 'out' / 'vgg16_wsss.pth'
    sd = _torchvision_vgg16()
    torch.save(sd, src)
    assert tool.convert_file(str(src), str(dst)) == 26
    model = VGG16Switches(
        init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    assert torch.equal(model.stages[0][0].weight, sd['features.0.weight'])
    assert torch.equal(model.stages[4][2].bias, sd['features.28.bias'])
    # every converted key exists in the model with the same shape
    out = torch.load(dst, weights_only=False)['state_dict']
    own = model.state_dict()
    assert all(own[k].shape == v.shape for k, v in out.items())


def test_convert_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        tool.convert_file(str(tmp_path / 'x.pth'), str(tmp_path / 'y.pth'))
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(2, 2)}},
               tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='no VGG-16 convolution'):
        tool.convert_file(str(tmp_path / 'bad.pth'), str(tmp_path / 'o.pth'))
