#!/usr/bin/env python
"""Write (and evaluate) the pseudo labels of a dataset split with a model.

Runs :class:`wsss_mmseg.apis.PseudoLabelGenerator`: the model's own predict
path (multi-scale/flip from ``model.test_cfg``, restriction to the image
labels of the split), optional dense CRF in a process pool, one VOC-palette
PNG per image written atomically, resume by skipping complete files, a
summary JSON (``pseudo_label_summary.json``) in the out dir.

The split's dataset is the config's ``pseudo_label_dataloader`` (falling
back to ``test_dataloader``) with the ann_file stem replaced by ``--split``
(or ``pseudo_label_splits[split]`` of the config). Settings come from the
config's ``pseudo_label_cfg`` dict (keys of ``PseudoLabelGenerator``, e.g.
``postprocess=dict(type='ConfidenceThresholdLabeler')``), then the flags.

Examples::

    python tools/make_pseudo_labels.py configs/cam/cam_resnet-tiny_toy.py \
        ckpt.pth --split train --out-dir work_dirs/pl/train --eval
    python tools/make_pseudo_labels.py CONFIG CKPT --split train_aug \
        --out-dir pl/ --crf --crf-workers 8 --scales 1.0 0.5 1.5 2.0 --flip
    tools/dist_make_pseudo_labels.sh CONFIG CKPT 2 --split train_aug \
        --out-dir pl/
"""
import argparse
import json
import os
import sys

import torch
import wsss_mmseg  # noqa: F401  (first: registers `wsss_mmseg::` bases)
from mmengine.config import Config, DictAction
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from wsss_mmseg.apis import (PseudoLabelGenerator, init_dist_for_launcher,
                             init_weak_model, split_dataset_cfg)
from wsss_mmseg.apis.split_utils import pseudo_label_dataloader_key


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Generate pseudo labels of a dataset split')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--split',
        default=None,
        help='split name (ann_file stem, e.g. train_aug, train, val); '
        'default: the split of the config\'s pseudo_label_dataloader')
    parser.add_argument(
        '--dataloader',
        default=None,
        help='config key of the dataloader to take the dataset from '
        '(default: pseudo_label_dataloader, then test_dataloader)')
    parser.add_argument(
        '--out-dir',
        default=None,
        help='directory of the label PNGs (default: work_dirs/<config '
        'name>/pseudo_labels/<split>)')
    parser.add_argument(
        '--crf', action='store_true', help='apply the dense CRF')
    parser.add_argument(
        '--crf-params',
        nargs='+',
        action=DictAction,
        default=None,
        help='CRF parameters, e.g. n_iter=10 bi_xy_std=80 (implies --crf)')
    parser.add_argument(
        '--crf-workers',
        type=int,
        default=None,
        help='post-processing processes per rank (0 = in process; default '
        'cores / ranks)')
    parser.add_argument(
        '--scales', type=float, nargs='+', default=None,
        help='override model.test_cfg.scales')
    parser.add_argument(
        '--flip', action='store_true', default=None,
        help='add flipped inputs (override model.test_cfg.flip)')
    parser.add_argument(
        '--fusion', choices=['sum', 'mean', 'max'], default=None,
        help='override model.test_cfg.fusion')
    parser.add_argument(
        '--no-img-labels', action='store_true',
        help='do not restrict the scores to the image labels')
    parser.add_argument(
        '--require-img-labels', action='store_true',
        help='fail if an image of the split has no image-level labels')
    parser.add_argument(
        '--save-scores', action='store_true',
        help='also write <name>.npz with the scores of the present classes')
    parser.add_argument(
        '--score-dir', default=None,
        help='directory of the score files (default: the out dir)')
    parser.add_argument(
        '--postprocess', default=None,
        help='registered post-processor (scores -> labels), e.g. '
        'ConfidenceThresholdLabeler; default: the config\'s '
        'pseudo_label_cfg.postprocess, else argmax')
    parser.add_argument(
        '--no-resume', action='store_true',
        help='rewrite complete files instead of skipping them')
    parser.add_argument(
        '--eval', action='store_true',
        help='evaluate against the split\'s ground truth (images without '
        'ground truth are listed and left out)')
    parser.add_argument(
        '--device', default=None, help='device (default cuda if available)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def default_out_dir(args: argparse.Namespace) -> str:
    """``work_dirs/<config name>/pseudo_labels/<split>``."""
    name = os.path.splitext(os.path.basename(args.config))[0]
    return os.path.join('work_dirs', name, 'pseudo_labels', args.split
                        or 'default')


def generator_kwargs(cfg: Config, args: argparse.Namespace) -> dict:
    """Generator arguments: the config's ``pseudo_label_cfg``, then flags."""
    kwargs = dict(cfg.get('pseudo_label_cfg') or {})
    kwargs['out_dir'] = args.out_dir or default_out_dir(args)
    if args.crf or args.crf_params:
        crf = kwargs.get('crf')
        params = dict(crf) if isinstance(crf, dict) else {}
        params.update(args.crf_params or {})
        kwargs['crf'] = params or True
    for key in ('crf_workers', 'scales', 'flip', 'fusion'):
        value = getattr(args, key)
        if value is not None:
            kwargs[key] = value
    if args.no_img_labels:
        kwargs['use_img_labels'] = False
    if args.require_img_labels:
        kwargs['require_img_labels'] = True
    if args.save_scores or args.score_dir:
        kwargs['save_scores'] = True
    if args.score_dir:
        kwargs['score_dir'] = args.score_dir
    if args.postprocess:
        kwargs['postprocess'] = args.postprocess
    if args.no_resume:
        kwargs['resume'] = False
    kwargs['evaluate'] = bool(args.eval)
    # data loading workers of the split's dataloader config
    loader = cfg[pseudo_label_dataloader_key(cfg, args.dataloader)]
    kwargs.setdefault('num_workers', loader.get('num_workers', 0))
    return kwargs


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'wsss_mmseg'))
    init_dist_for_launcher(args.launcher)
    dataset = split_dataset_cfg(cfg, args.split, args.dataloader)
    model = init_weak_model(cfg, args.checkpoint, args.device)
    generator = PseudoLabelGenerator(**generator_kwargs(cfg, args))
    summary = generator.run(model, dataset)
    if get_dist_info()[0] == 0:
        evaluation = summary.get('evaluation') or {}
        print_log(
            json.dumps(
                dict(
                    written=summary['written'],
                    skipped=summary['skipped'],
                    time_s=summary['time_s'],
                    mIoU=evaluation.get('mIoU'),
                    missing_gt=len(evaluation.get('missing_gt', []))
                    if evaluation else None)),
            logger='current')
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return summary


if __name__ == '__main__':
    main()
    sys.exit(0)
