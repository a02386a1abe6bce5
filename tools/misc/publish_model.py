"""Slim a training checkpoint into a model-zoo file.

The output keeps only ``state_dict`` and a sanitised ``meta`` (plain Python
types), so it loads with ``torch.load(..., weights_only=True)`` on any torch
>= 2.6, and its name ends with the first 8 hex digits of its sha256, as in
OpenMMLab model zoos: ``<out stem>-<sha256[:8]>.pth``.

Example::

    python tools/misc/publish_model.py work_dirs/apc/iter_20000.pth \
        apc_vitb16_voc.pth
"""
import argparse
import hashlib
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

SAFE_SCALARS = (str, int, float, bool, type(None))


def sanitize(obj: Any) -> Any:
    """Convert ``obj`` to types ``torch.load(weights_only=True)`` accepts.

    Numpy scalars/arrays become Python numbers/lists; containers are
    converted recursively; anything else is dropped (returns ``None``).
    """
    if isinstance(obj, SAFE_SCALARS):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            value = sanitize(value)
            if value is not None:
                out[str(key)] = value
        return out
    if isinstance(obj, (list, tuple)):
        items = [sanitize(v) for v in obj]
        return type(obj)(items) if isinstance(obj, tuple) else items
    return None


def publish(in_file: str, out_file: str) -> str:
    """Write the slim checkpoint and return its final path.

    Args:
        in_file (str): An mmengine checkpoint (or a bare state dict).
        out_file (str): Desired path; ``-<sha256[:8]>`` is inserted before
            the extension.

    Returns:
        str: The path written.
    """
    checkpoint = torch.load(in_file, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{in_file}: expected a checkpoint dict, got '
                         f'{type(checkpoint).__name__}')
    if 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
    elif all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state_dict = checkpoint
    else:
        raise ValueError(f'{in_file}: no state_dict found (keys: '
                         f'{sorted(checkpoint)[:10]})')
    state_dict = OrderedDict(
        (k, v.detach().cpu()) for k, v in state_dict.items())
    meta = sanitize(checkpoint.get('meta', {})) or {}
    meta.pop('hook_msgs', None)
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.tmp')
    os.close(fd)
    try:
        torch.save({'state_dict': state_dict, 'meta': meta}, tmp)
        with open(tmp, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        stem, ext = osp.splitext(out_file)
        final = f'{stem}-{digest[:8]}{ext or ".pth"}'
        os.replace(tmp, final)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return final


def parse_args():
    parser = argparse.ArgumentParser(
        description='Slim a checkpoint for the model zoo (state_dict + '
        'meta, sha256 suffix, loads with weights_only=True)')
    parser.add_argument('in_file', help='input checkpoint')
    parser.add_argument('out_file', help='output file name')
    return parser.parse_args()


def main():
    args = parse_args()
    final = publish(args.in_file, args.out_file)
    print(f'published {final}')


if __name__ == '__main__':
    main()
