#!/usr/bin/env python
"""Convert the PSA authors' PyTorch weights to wsss_mmseg key names.

Handles the files of https://github.com/jiwoon-ahn/psa (Ahn & Kwak,
CVPR 2018):

- ResNet-38 ImageNet weights after the authors' ``convert_mxnet_to_torch``
  (keys ``conv1a.weight``, ``b2.bn_branch2a.weight``, ..., ``bn7.*``);
  the 1000-way classifier is dropped,
- ``res38_cls.pth`` (CAM network, + ``fc8.weight``) and ``res38_aff.pth``
  (AffinityNet, + ``f8_3``, ``f8_4``, ``f8_5``, ``f9``),
- the VGG-16 variants (``conv1_1`` ... ``fc7``, ``fc8``, ``gn8_*``).

Our names: ``backbone.*`` (:class:`ResNet38d` / :class:`VGG16LargeFOV`),
``decode_head.classifier.weight`` (:class:`CAMHead`) and
``decode_head.projections.{0,1,2}`` / ``norms.{0,1,2}`` / ``fuse``
(:class:`AffinityHead`). The output is ``{'state_dict', 'meta'}``; load
ImageNet weights with ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')`` on the backbone, the trained nets as checkpoints.

Example::

    python tools/model_converters/psa_to_wsss.py res38_cls.pth \
        pretrain/psa_res38_cls_wsss.pth
    python tools/model_converters/psa_to_wsss.py --arch vgg16 \
        vgg16_aff.pth pretrain/psa_vgg16_aff_wsss.pth
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch

# pre-activation basic block: authors' module -> ours
_BLOCK = {
    'bn_branch2a': 'bn1',
    'conv_branch2a': 'conv1',
    'bn_branch2b1': 'bn2',
    'conv_branch2b1': 'conv2',
    'bn_branch2b2': 'bn3',
    'conv_branch2b2': 'conv3',
    'conv_branch1': 'shortcut',
}
_HEAD = {
    'fc8': 'decode_head.classifier',
    'f8_3': 'decode_head.projections.0',
    'f8_4': 'decode_head.projections.1',
    'f8_5': 'decode_head.projections.2',
    'gn8_3': 'decode_head.norms.0',
    'gn8_4': 'decode_head.norms.1',
    'gn8_5': 'decode_head.norms.2',
    'f9': 'decode_head.fuse',
}
# ImageNet classifier of the MXNet model, not used by PSA
_DROPPED = re.compile(r'^(linear1000|fc1000|module\.linear1000)')
_RESNET_BLOCK = re.compile(r'^b([2-7])(?:_(\d+))?\.(\w+)\.(\w+)$')
_VGG_LAYER = re.compile(r'^(conv\d_\d|fc6|fc7)\.(weight|bias)$')


def _convert_key(key: str, arch: str) -> str:
    """Our name of one of the authors' keys; '' to drop it."""
    key = key[len('module.'):] if key.startswith('module.') else key
    if _DROPPED.match(key):
        return ''
    module, _, param = key.rpartition('.')
    if module in _HEAD:
        return f'{_HEAD[module]}.{param}'
    if arch == 'resnet38':
        if key == 'conv1a.weight' or module == 'bn7':
            return f'backbone.{key}'
        match = _RESNET_BLOCK.match(key)
        if match and match.group(3) in _BLOCK:
            stage, index, part, param = match.groups()
            if stage in ('6', '7'):
                if index is not None:
                    raise KeyError(f'unexpected bottleneck index in {key!r}')
                return f'backbone.layer{stage}.{_BLOCK[part]}.{param}'
            return (f'backbone.layer{stage}.{int(index or 0)}.'
                    f'{_BLOCK[part]}.{param}')
    elif arch == 'vgg16':
        if _VGG_LAYER.match(key):
            return f'backbone.{key}'
    else:
        raise ValueError(f"arch must be 'resnet38' or 'vgg16', got {arch!r}")
    raise KeyError(key)


def convert_psa_state_dict(state: Dict[str, torch.Tensor],
                           arch: str = 'resnet38'
                           ) -> Tuple[OrderedDict, list]:
    """Rename an authors' state dict to our keys.

    Args:
        state (dict): The authors' state dict (``module.`` prefixes of
            DataParallel are stripped).
        arch (str): 'resnet38' or 'vgg16'.

    Returns:
        tuple[OrderedDict, list]: the converted state dict and the dropped
        keys.

    Raises:
        KeyError: naming every key the converter does not know.
    """
    out, dropped, unknown = OrderedDict(), [], []
    for key, value in state.items():
        try:
            new = _convert_key(key, arch)
        except KeyError:
            unknown.append(key)
            continue
        if new:
            out[new] = value
        else:
            dropped.append(key)
    if unknown:
        raise KeyError(f'{len(unknown)} keys of the {arch} checkpoint are not '
                       f'PSA keys: {unknown[:10]}')
    if not out:
        raise KeyError(f'no {arch} weights found in the checkpoint')
    return out, dropped


def main():
    parser = argparse.ArgumentParser(
        description='Convert PSA authors\' weights to wsss_mmseg keys')
    parser.add_argument('src', help='the authors\' .pth file')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--arch', choices=['resnet38', 'vgg16'],
                        default='resnet38')
    args = parser.parse_args()
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    out, dropped = convert_psa_state_dict(state, args.arch)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save(
        dict(
            state_dict=out,
            meta=dict(source=osp.basename(args.src), arch=args.arch)), tmp)
    os.replace(tmp, args.dst)
    print(f'converted {len(out)} tensors, dropped {len(dropped)} '
          f'({dropped[:3]}...) -> {args.dst}')


if __name__ == '__main__':
    main()
