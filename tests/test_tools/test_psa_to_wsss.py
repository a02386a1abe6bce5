"""tools/model_converters/psa_to_wsss.py on state dicts with the PSA
authors' key names and shapes (jiwoon-ahn/psa network/resnet38d.py,
resnet38_cls.py, resnet38_aff.py, vgg16d.py, vgg16_aff.py)."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch

from wsss_mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'model_converters', 'psa_to_wsss.py')


def _tool():
    spec = importlib.util.spec_from_file_location('psa_to_wsss', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bn(prefix, ch, out):
    for name in ('weight', 'bias', 'running_mean', 'running_var'):
        out[f'{prefix}.{name}'] = torch.full((ch, ), 0.5)


def authors_resnet38(widths=1):
    """The authors' ResNet-38 keys (resnet38d.Net), channels / widths."""
    d = lambda c: max(c // widths, 1)  # noqa: E731
    out = {'conv1a.weight': torch.zeros(d(64), 3, 3, 3)}
    # (name, in, mid, out, shortcut) of ResBlock, authors' order
    blocks = [('b2', 64, 128, 128, True), ('b2_1', 128, 128, 128, False),
              ('b2_2', 128, 128, 128, False), ('b3', 128, 256, 256, True),
              ('b3_1', 256, 256, 256, False), ('b3_2', 256, 256, 256, False),
              ('b4', 256, 512, 512, True)]
    blocks += [(f'b4_{i}', 512, 512, 512, False) for i in range(1, 6)]
    blocks += [('b5', 512, 512, 1024, True), ('b5_1', 1024, 512, 1024, False),
               ('b5_2', 1024, 512, 1024, False)]
    for name, cin, mid, cout, short in blocks:
        cin, mid, cout = d(cin), d(mid), d(cout)
        _bn(f'{name}.bn_branch2a', cin, out)
        out[f'{name}.conv_branch2a.weight'] = torch.zeros(mid, cin, 3, 3)
        _bn(f'{name}.bn_branch2b1', mid, out)
        out[f'{name}.conv_branch2b1.weight'] = torch.zeros(cout, mid, 3, 3)
        if short:
            out[f'{name}.conv_branch1.weight'] = torch.zeros(cout, cin, 1, 1)
    for name, cin, cout in (('b6', 1024, 2048), ('b7', 2048, 4096)):
        cin, cout = d(cin), d(cout)
        _bn(f'{name}.bn_branch2a', cin, out)
        out[f'{name}.conv_branch2a.weight'] = torch.zeros(cout // 4, cin, 1, 1)
        _bn(f'{name}.bn_branch2b1', cout // 4, out)
        out[f'{name}.conv_branch2b1.weight'] = torch.zeros(
            cout // 2, cout // 4, 3, 3)
        _bn(f'{name}.bn_branch2b2', cout // 2, out)
        out[f'{name}.conv_branch2b2.weight'] = torch.zeros(
            cout, cout // 2, 1, 1)
        out[f'{name}.conv_branch1.weight'] = torch.zeros(cout, cin, 1, 1)
    _bn('bn7', d(4096), out)
    return out


def tiny_arch(widths):
    d = lambda c: c // widths  # noqa: E731
    return dict(
        stem_channels=d(64),
        stage_channels=[(d(128), d(128)), (d(256), d(256)),
                        (d(512), d(512)), (d(512), d(1024))],
        stage_blocks=[3, 3, 6, 3],
        bottleneck_channels=[d(2048), d(4096)])


def test_res38_cls_and_aff_load_every_key():
    tool = _tool()
    widths = 32  # authors' layout, channels / 32 to keep the test small
    authors = authors_resnet38(widths)
    cls = dict(authors, **{'fc8.weight': torch.zeros(20, 4096 // widths, 1,
                                                     1)})
    ours, dropped = tool.convert_psa_state_dict(cls)
    assert not dropped and len(ours) == len(cls)
    model = MODELS.build(
        dict(type='CAMSegmentor',
             backbone=dict(type='ResNet38d', arch=tiny_arch(widths),
                           out_indices=(2, )),
             decode_head=dict(type='CAMHead', in_channels=4096 // widths,
                              num_classes=21)))
    missing, unexpected = model.load_state_dict(ours, strict=False)
    assert not unexpected
    assert [k for k in missing if 'num_batches_tracked' not in k] == []
    assert torch.equal(model.backbone.layer6.bn3.weight,
                       torch.full((2048 // widths // 2, ), 0.5))

    aff = dict(authors)
    for name, cin, cout in (('f8_3', 512, 64), ('f8_4', 1024, 128),
                            ('f8_5', 4096, 256)):
        aff[f'{name}.weight'] = torch.zeros(cout, cin // widths, 1, 1)
    aff['f9.weight'] = torch.zeros(448, 448, 1, 1)
    # DataParallel prefix of the released files
    aff = {f'module.{k}': v for k, v in aff.items()}
    ours, _ = tool.convert_psa_state_dict(aff)
    model = MODELS.build(
        dict(type='AffinitySegmentor',
             backbone=dict(type='ResNet38d', arch=tiny_arch(widths)),
             decode_head=dict(type='AffinityHead',
                              in_channels=(512 // widths, 1024 // widths,
                                           4096 // widths),
                              num_classes=21)))
    missing, unexpected = model.load_state_dict(ours, strict=False)
    assert not unexpected
    assert [k for k in missing if 'num_batches_tracked' not in k] == []


def test_imagenet_keys_full_size_match_a1():
    tool = _tool()
    authors = authors_resnet38(1)
    authors['linear1000.weight'] = torch.zeros(1000, 4096)
    ours, dropped = tool.convert_psa_state_dict(authors)
    assert dropped == ['linear1000.weight']
    from wsss_mmseg.models.backbones import ResNet38d
    backbone = {f'backbone.{k}': v.shape
                for k, v in ResNet38d(arch='a1').state_dict().items()
                if 'num_batches_tracked' not in k}
    assert {k: v.shape for k, v in ours.items()} == backbone


def test_vgg16_aff_keys():
    tool = _tool()
    chans = [64, 128, 256, 512, 512]
    depths = [2, 2, 3, 3, 3]
    state, cin = {}, 3
    for b, (c, n) in enumerate(zip(chans, depths)):
        for j in range(n):
            state[f'conv{b + 1}_{j + 1}.weight'] = torch.zeros(c, cin, 3, 3)
            state[f'conv{b + 1}_{j + 1}.bias'] = torch.zeros(c)
            cin = c
    state.update({'fc6.weight': torch.zeros(1024, 512, 3, 3),
                  'fc6.bias': torch.zeros(1024),
                  'fc7.weight': torch.zeros(1024, 1024, 1, 1),
                  'fc7.bias': torch.zeros(1024)})
    for name, cin, cout, groups in (('3', 512, 64, 8), ('4', 512, 128, 16),
                                    ('5', 1024, 256, 32)):
        state[f'f8_{name}.weight'] = torch.zeros(cout, cin, 1, 1)
        state[f'gn8_{name}.weight'] = torch.ones(cout)
        state[f'gn8_{name}.bias'] = torch.zeros(cout)
    state['f9.weight'] = torch.zeros(448, 448, 1, 1)
    ours, _ = tool.convert_psa_state_dict(state, arch='vgg16')
    model = MODELS.build(
        dict(type='AffinitySegmentor',
             backbone=dict(type='VGG16LargeFOV', fc6_dilation=4),
             decode_head=dict(type='AffinityHead',
                              in_channels=(512, 512, 1024),
                              norm_groups=(8, 16, 32), num_classes=21)))
    missing, unexpected = model.load_state_dict(ours, strict=True)
    assert not missing and not unexpected


def test_unknown_keys_and_cli(tmp_path):
    tool = _tool()
    with pytest.raises(KeyError, match='not PSA keys'):
        tool.convert_psa_state_dict({'layer1.0.conv1.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='not PSA keys'):
        tool.convert_psa_state_dict({'fc6.weight': torch.zeros(1)})
    src = tmp_path / 'res38_cls.pth'
    torch.save({'fc8.weight': torch.zeros(20, 4096, 1, 1),
                'conv1a.weight': torch.zeros(64, 3, 3, 3)}, src)
    dst = tmp_path / 'out' / 'ours.pth'
    subprocess.run([sys.executable, TOOL, str(src), str(dst)], check=True,
                   capture_output=True)
    ckpt = torch.load(dst, weights_only=True)
    assert set(ckpt['state_dict']) == {
        'decode_head.classifier.weight', 'backbone.conv1a.weight'}
    assert ckpt['meta']['arch'] == 'resnet38'
