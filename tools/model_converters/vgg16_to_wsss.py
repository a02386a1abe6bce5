#!/usr/bin/env python
"""Convert an ImageNet VGG-16 checkpoint to :class:`VGG16Switches` keys.

Accepts torchvision's ``vgg16`` (``features.N.weight``) and mmpretrain's
``VGG(depth=16)`` (``backbone.features.N.conv.weight``) layouts; the
classifier is dropped. The output holds ``state_dict`` (keys
``stages.{s}.{l}.{weight,bias}``) and ``meta`` and loads with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` (VGG16Switches also
converts on load, so this step is optional; it makes a smaller file and
checks the layout offline).

Example::

    python tools/model_converters/vgg16_to_wsss.py vgg16-397923af.pth \\
        pretrain/vgg16_wsss.pth
"""
import argparse
import os
import os.path as osp
import tempfile

import torch


def convert_file(src: str, dst: str) -> int:
    """Convert ``src`` into ``dst`` (atomic write); returns the key count."""
    from wsss_mmseg.models.backbones.vgg16_switches import \
        convert_vgg16_state_dict
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint {src} not found')
    ckpt = torch.load(src, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src} holds no state dict')
    converted = convert_vgg16_state_dict(state)
    directory = osp.dirname(osp.abspath(dst))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix='.pth.tmp')
    os.close(fd)
    try:
        torch.save(
            dict(state_dict=converted,
                 meta=dict(source=osp.basename(src),
                           converter='vgg16_to_wsss')), tmp)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return len(converted)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='torchvision or mmpretrain VGG-16 file')
    parser.add_argument('dst', help='output checkpoint')
    args = parser.parse_args(argv)
    n = convert_file(args.src, args.dst)
    print(f'wrote {n} tensors to {args.dst}')


if __name__ == '__main__':
    main()
