#!/usr/bin/env python
"""Train a segmentor: mmseg's ``tools/train.py`` with wsss_mmseg preloaded.

Arguments are those of mmseg 1.2.2's ``tools/train.py``. The differences:

* ``wsss_mmseg`` is imported before the config is parsed, so configs may
  inherit ``wsss_mmseg::<method>/<config>.py`` bases;
* a config without ``runner_type`` is run by
  :class:`wsss_mmseg.engine.runners.DeviceAwareRunner` (the stock Runner when
  CUDA is present; gloo DDP on CPU-only machines), so plain mmseg configs
  also train with ``tools/dist_train.sh CONFIG N`` on CPU.

Examples::

    python tools/train.py configs/cam/cam_resnet-tiny_toy.py
    tools/dist_train.sh configs/cam/cam_resnet-tiny_toy.py 2 --resume
"""
import argparse
import logging
import os
import os.path as osp

import wsss_mmseg  # noqa: F401  (first: registers `wsss_mmseg::` bases)
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from wsss_mmseg.engine.runners import build_runner


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (same names as mmseg's tools/train.py)."""
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir '
        'automatically')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes `--local-rank` (torch >= 2.0);
    # torchrun sets the LOCAL_RANK environment variable instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line overrides."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif wrapper_type != 'OptimWrapper':
            raise ValueError(
                '--amp needs optim_wrapper.type="OptimWrapper" in the config, '
                f'found {wrapper_type!r}.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    cfg.resume = args.resume
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    runner = build_runner(cfg)
    runner.train()


if __name__ == '__main__':
    main()
