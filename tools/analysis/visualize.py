#!/usr/bin/env python
"""Write PNG grids per image: image, class score heat maps, pseudo label,
ground truth, with class names.

The scores are what the model's predict path puts in ``seg_logits`` (CAMs,
SP-CAMs, patch maps, ... at the original size, restricted to the image
labels when the split has them). The pseudo label is read from
``--pseudo-dir`` when given (e.g. the output of make_pseudo_labels.py),
otherwise it is the model's ``pred_sem_seg``.

Examples::

    python tools/analysis/visualize.py configs/cam/cam_resnet-tiny_toy.py \
        ckpt.pth --split train --out-dir work_dirs/vis --num-images 8
    python tools/analysis/visualize.py CONFIG CKPT --split train \
        --pseudo-dir work_dirs/pl/train --names 2007_000032 2007_000039
"""
import argparse
import os
import os.path as osp

import wsss_mmseg  # noqa: F401  (first: registers `wsss_mmseg::` bases)
import cv2
import mmcv
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from wsss_mmseg.apis import (build_dataset, draw_pseudo_label_grid,
                             init_weak_model, split_dataset_cfg)
from wsss_mmseg.apis.label_io import atomic_write_bytes
from wsss_mmseg.evaluation import label_file_name, read_label_map


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default=None)
    parser.add_argument('--dataloader', default=None)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--num-images', type=int, default=8)
    parser.add_argument('--names', nargs='+', default=None,
                        help='image names (file stems) to draw')
    parser.add_argument('--pseudo-dir', default=None,
                        help='directory of pseudo-label PNGs to show')
    parser.add_argument('--max-heatmaps', type=int, default=4)
    parser.add_argument('--height', type=int, default=160)
    parser.add_argument('--device', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None) -> list:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'wsss_mmseg'))
    dataset = build_dataset(
        split_dataset_cfg(cfg, args.split, args.dataloader))
    model = init_weak_model(cfg, args.checkpoint, args.device)
    class_names = list(dataset.metainfo['classes'])
    palette = dataset.metainfo.get('palette')
    img_root = dataset.data_prefix.get('img_path')
    stems = [
        osp.splitext(osp.basename(dataset.get_data_info(i)['img_path']))[0]
        for i in range(len(dataset))
    ]
    if args.names:
        unknown = sorted(set(args.names) - set(stems))
        if unknown:
            raise KeyError(f'images {unknown} are not in the split')
        indices = [stems.index(n) for n in args.names]
    else:
        indices = list(range(min(args.num_images, len(dataset))))
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for idx in indices:
        batch = pseudo_collate([dataset[idx]])
        with torch.no_grad():
            out = model.test_step(batch)[0]
        img_path = out.metainfo['img_path']
        image = mmcv.imread(img_path, channel_order='rgb')
        scores = out.seg_logits.data.float().cpu().numpy()
        labels = out.get('gt_img_labels')
        labels = None if labels is None else labels.cpu().numpy()
        if args.pseudo_dir:
            path = osp.join(args.pseudo_dir,
                            label_file_name(img_path, img_root))
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'no pseudo label {path} for image {img_path}')
            pseudo = read_label_map(path)
        else:
            pseudo = out.pred_sem_seg.data[0].cpu().numpy()
        gt = None
        if 'gt_sem_seg' in out:
            gt = out.gt_sem_seg.data[0].cpu().numpy()
        grid = draw_pseudo_label_grid(
            image, scores, pseudo, gt, class_names, img_labels=labels,
            max_heatmaps=args.max_heatmaps, height=args.height,
            palette=palette, title=stems[idx])
        ok, buf = cv2.imencode('.png', grid[..., ::-1].copy())
        if not ok:
            raise RuntimeError(f'could not encode the grid of {img_path}')
        target = osp.join(args.out_dir, stems[idx] + '.png')
        atomic_write_bytes(target, buf.tobytes())
        written.append(target)
    print(f'wrote {len(written)} grids to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
