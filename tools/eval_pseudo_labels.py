#!/usr/bin/env python
"""Evaluate a directory of label PNGs (pseudo labels) against ground truth.

Prints the per-class IoU table (mmseg's layout) and mIoU, and writes them
as JSON with ``--out``. Two ways to name the ground truth:

- a config and a split: the split's dataset (see
  ``tools/make_pseudo_labels.py``) gives the image list, the ground-truth
  files and the class names;
- ``--gt-dir`` (+ ``--split-file``, ``--classes`` or ``--num-classes``).

Images without a ground-truth file are listed and left out; the rest is
evaluated. Images of the list without a pseudo label are an error unless
``--allow-missing`` is given.

Examples::

    python tools/eval_pseudo_labels.py work_dirs/pl/train \
        --config configs/cam/cam_resnet-tiny_toy.py --split train
    python tools/eval_pseudo_labels.py pl/ --gt-dir \
        data/VOCdevkit/VOC2012/SegmentationClass --split-file \
        data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt \
        --num-classes 21
"""
import argparse
import json
import os.path as osp
import sys

import wsss_mmseg  # noqa: F401  (first: registers `wsss_mmseg::` bases)
from mmengine.config import Config, DictAction

from wsss_mmseg.evaluation import (evaluate_label_files, format_iou_table,
                                   label_file_name, metrics_from_confusion,
                                   metrics_to_dict, pair_label_dirs)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate pseudo-label PNGs against ground truth')
    parser.add_argument('pred_dir', help='directory of label PNGs')
    parser.add_argument('--config', help='config naming the dataset')
    parser.add_argument(
        '--split', default=None, help='split of the config (e.g. train)')
    parser.add_argument(
        '--dataloader', default=None,
        help='dataloader key of the config (default pseudo_label_dataloader)')
    parser.add_argument('--gt-dir', help='directory of ground-truth PNGs')
    parser.add_argument(
        '--split-file', help='text file with one image name per line')
    parser.add_argument('--num-classes', type=int, help='C (with --gt-dir)')
    parser.add_argument(
        '--classes', nargs='+', help='class names (with --gt-dir)')
    parser.add_argument('--ignore-index', type=int, default=255)
    parser.add_argument('--suffix', default='.png')
    parser.add_argument(
        '--allow-missing', action='store_true',
        help='skip images of the list that have no pseudo label')
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def pairs_from_config(args):
    from wsss_mmseg.apis import build_dataset, split_dataset_cfg
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'wsss_mmseg'))
    dataset = build_dataset(
        split_dataset_cfg(cfg, args.split, args.dataloader))
    img_root = dataset.data_prefix.get('img_path')
    pairs = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        name = label_file_name(info['img_path'], img_root, args.suffix)
        gt = info.get('seg_map_path')
        pairs.append((name, osp.join(args.pred_dir, name),
                      gt if gt and osp.isfile(gt) else None))
    return (pairs, list(dataset.metainfo['classes']),
            bool(getattr(dataset, 'reduce_zero_label', False)))


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isdir(args.pred_dir):
        raise FileNotFoundError(f'pseudo-label dir {args.pred_dir} not found')
    reduce_zero = False
    if args.config:
        pairs, classes, reduce_zero = pairs_from_config(args)
    elif args.gt_dir:
        names = None
        if args.split_file:
            with open(args.split_file) as f:
                names = [ln.strip().split()[0] for ln in f if ln.strip()]
        pairs = pair_label_dirs(args.pred_dir, args.gt_dir, names,
                                args.suffix)
        classes = args.classes
        if classes is None:
            if args.num_classes is None:
                raise ValueError('--gt-dir needs --num-classes or --classes')
            classes = [str(i) for i in range(args.num_classes)]
        elif args.num_classes is not None and \
                args.num_classes != len(classes):
            raise ValueError(f'--num-classes {args.num_classes} but '
                             f'{len(classes)} --classes')
    else:
        raise ValueError('give --config (and --split) or --gt-dir')
    conf, missing_gt, missing_pred = evaluate_label_files(
        pairs, len(classes), args.ignore_index, reduce_zero)
    if missing_pred and not args.allow_missing:
        raise FileNotFoundError(
            f'{len(missing_pred)} images of the list have no pseudo label in '
            f'{args.pred_dir}: {missing_pred[:20]} (use --allow-missing to '
            'evaluate the rest)')
    if missing_gt:
        print(f'{len(missing_gt)} of {len(pairs)} images have no ground '
              f'truth and are left out: {missing_gt}', file=sys.stderr)
    evaluated = len(pairs) - len(missing_gt) - len(missing_pred)
    if evaluated == 0:
        raise ValueError('no image has both a pseudo label and ground truth')
    metrics = metrics_from_confusion(conf)
    print(format_iou_table(metrics, classes))
    result = metrics_to_dict(metrics, classes)
    result.update(
        num_evaluated=evaluated,
        missing_gt=missing_gt,
        missing_pred=missing_pred)
    print(json.dumps(dict(mIoU=result['mIoU'], num_evaluated=evaluated,
                          num_missing_gt=len(missing_gt))))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
