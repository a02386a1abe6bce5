"""End to end: tools/pipelines/psa.sh runs all five PSA stages with the stock
tools on a tiny toy dataset (a few iterations per stage)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.slow
def test_psa_pipeline_toy(tmp_path):
    # a small toy dataset where the configs look for it (cwd-relative)
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'make_toy_dataset.py'),
        '--out-dir', str(tmp_path / 'data' / 'toy'), '--num-train-aug', '12',
        '--num-train', '6', '--num-val', '4'
    ], check=True, capture_output=True, cwd=REPO)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env['TRAIN_OPTIONS'] = ('train_cfg.max_iters=3 param_scheduler.0.end=3 '
                            'default_hooks.checkpoint.interval=3 '
                            'train_dataloader.batch_size=2 '
                            'train_dataloader.num_workers=0')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([
        'bash', osp.join(REPO, 'tools', 'pipelines', 'psa.sh'),
        osp.join(REPO, 'configs', 'psa'), str(work), '1', 'toy'
    ], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    ids = open(tmp_path / 'data' / 'toy' / 'ImageSets' / 'Segmentation' /
               'train_aug.txt').read().split()
    # stage 2: one confident-region PNG per train_aug image, {0, 1..5, 255}
    for name in ids:
        label = np.array(Image.open(work / 'confident_regions' /
                                    f'{name}.png'))
        assert label.shape == (128, 128)
        assert set(np.unique(label).tolist()) <= {0, 1, 2, 3, 4, 5, 255}
    # stage 4: a random-walk mask per image, no unsure label
    for name in ids:
        mask = np.array(Image.open(work / 'rw_masks' / f'{name}.png'))
        assert mask.shape == (128, 128) and mask.max() <= 5
    summary = json.load(open(work / 'rw_masks_train_summary.json'))
    assert 0 <= summary['evaluation']['mIoU'] <= 100
    # stage 5 and the summary of all three numbers
    text = open(work / 'psa_pipeline_summary.txt').read()
    assert 'CAM pseudo masks (train) mIoU: ' in text
    assert 'random-walk pseudo masks (train) mIoU: ' in text
    seg = text.split('segmentation (val) mIoU: ')[1].split()[0]
    assert 0 <= float(seg) <= 100
