"""Segment one image with a wsss_mmseg model and save a colour overlay.

Uses mmseg's own inference API (``init_model`` / ``inference_model``): our
configs and checkpoints load there once ``wsss_mmseg`` is imported.

Example::

    python demo/image_demo.py demo/demo.jpg \
        configs/cam/cam_resnet-tiny_toy.py work_dirs/cam/iter_1000.pth \
        --out-file overlay.png
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np

import wsss_mmseg  # noqa: F401  (shims, registries, wsss_mmseg:: configs)
from mmseg.apis import inference_model, init_model


def overlay(image: np.ndarray, labels: np.ndarray, palette,
            opacity: float = 0.5) -> np.ndarray:
    """Blend a label map's palette colours over an image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 BGR image.
        labels (np.ndarray): (H, W) class indices.
        palette (list): RGB colour per class.
        opacity (float): Weight of the colours, 0..1.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR image.
    """
    palette = np.asarray(palette, dtype=np.uint8)
    if labels.max(initial=0) >= len(palette):
        raise ValueError(f'label {labels.max()} has no palette colour '
                         f'({len(palette)} colours)')
    colours = palette[labels][..., ::-1]  # RGB -> BGR
    blended = image * (1 - opacity) + colours * opacity
    return blended.clip(0, 255).astype(np.uint8)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-file', default='overlay.png')
    parser.add_argument('--device', default=None,
                        help='e.g. cpu or cuda:0 (default: cuda if present)')
    parser.add_argument('--opacity', type=float, default=0.5)
    return parser.parse_args()


def main():
    args = parse_args()
    device = args.device
    if device is None:
        import torch
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    if not osp.isfile(args.img):
        raise FileNotFoundError(f'image {args.img} not found')
    model = init_model(args.config, args.checkpoint, device=device)
    result = inference_model(model, args.img)
    labels = result.pred_sem_seg.data[0].cpu().numpy()
    image = mmcv.imread(args.img)
    palette = model.dataset_meta['palette']
    out_dir = osp.dirname(osp.abspath(args.out_file))
    os.makedirs(out_dir, exist_ok=True)
    mmcv.imwrite(overlay(image, labels, palette, args.opacity), args.out_file)
    classes = model.dataset_meta['classes']
    found = [classes[i] for i in np.unique(labels)]
    print(f'saved {args.out_file}; classes found: {", ".join(found)}')


if __name__ == '__main__':
    main()
