#!/usr/bin/env python
"""Test (and evaluate) a segmentor: mmseg's ``tools/test.py`` + wsss_mmseg.

Arguments are those of mmseg 1.2.2's ``tools/test.py``. ``wsss_mmseg`` is
imported before the config is parsed (``wsss_mmseg::`` bases resolve) and
the runner is the config's ``runner_type`` or
:class:`wsss_mmseg.engine.runners.DeviceAwareRunner`, so
``tools/dist_test.sh CONFIG CKPT N`` also runs on CPU-only machines. The
metric (e.g. IoUMetric's per-class table and mIoU) is printed by the logger.

Examples::

    python tools/test.py configs/cam/cam_resnet-tiny_toy.py ckpt.pth
    python tools/test.py CONFIG ckpt.pth --out preds/ --show-dir vis/
    python tools/test.py CONFIG ckpt.pth --cfg-options model.test_cfg.crf=True
"""
import argparse
import os
import os.path as osp

import wsss_mmseg  # noqa: F401  (first: registers `wsss_mmseg::` bases)
from mmengine.config import Config, DictAction
from wsss_mmseg.engine.runners import build_runner


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (same names as mmseg's tools/test.py)."""
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='if specified, the evaluation metric results will be dumped '
        'into the directory as json')
    parser.add_argument(
        '--out',
        type=str,
        help='the directory to save output prediction for offline '
        'evaluation')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. If specified, '
        'it will be automatically saved to the work_dir/timestamp/show_dir')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
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
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config,
                               args: argparse.Namespace) -> Config:
    """Turn on drawing in ``default_hooks.visualization`` (--show/--show-dir).
    """
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise RuntimeError(
            '--show/--show-dir need a visualization hook: add '
            "default_hooks.visualization=dict(type='SegVisualizationHook') to "
            f'{args.config} (our configs/_base_/schedules/* have it).')
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


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

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        missing = [k for k in ('tta_pipeline', 'tta_model') if k not in cfg]
        if missing:
            raise KeyError(
                f'--tta needs {" and ".join(missing)} in {args.config} '
                '(tta_model comes from configs/_base_/default_runtime.py, '
                'tta_pipeline from the dataset config).')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    return cfg


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = build_config(args)
    runner = build_runner(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
