"""End to end: tools/pipelines/spn.sh runs every SPN stage with the stock
tools on a tiny toy dataset (a few iterations per stage, two refinement
rounds driven by PseudoLabelHook)."""
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
@pytest.mark.parametrize('kind', ['deeplab', 'decoupled'])
def test_spn_pipeline_toy(tmp_path, kind):
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'make_toy_dataset.py'),
        '--out-dir', str(tmp_path / 'data' / 'toy'), '--num-train-aug', '8',
        '--num-train', '4', '--num-val', '2'
    ], check=True, capture_output=True, cwd=REPO)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               SP_WORKERS='1')
    env['TRAIN_OPTIONS'] = ('train_dataloader.batch_size=2 '
                            'train_dataloader.num_workers=0 '
                            'train_dataloader.persistent_workers=False')
    env['SPN_OPTIONS'] = ('train_cfg.max_iters=2 param_scheduler.0.end=2 '
                          'default_hooks.checkpoint.interval=2 '
                          'train_cfg.val_interval=100')
    env['REFINE_OPTIONS'] = (
        'train_cfg.max_iters=4 param_scheduler.0.end=4 '
        'custom_hooks.0.every_n_train_iters=2 '
        'default_hooks.checkpoint.interval=4 train_cfg.val_interval=4')
    env.pop('PYTHONPATH', None)
    proc = subprocess.run([
        'bash', osp.join(REPO, 'tools', 'pipelines', 'spn.sh'),
        osp.join(REPO, 'configs', 'spn'), str(work), '1', 'toy', kind
    ], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    root = tmp_path / 'data' / 'toy'
    ids = open(root / 'ImageSets' / 'Segmentation' /
               'train_aug.txt').read().split()
    # stage 0: a contiguous superpixel map per image
    for name in ids:
        sp = np.array(Image.open(root / 'superpixels' / 'felzenszwalb' /
                                 f'{name}.png'))
        assert sp.shape == (128, 128)
        assert np.array_equal(np.unique(sp), np.arange(sp.max() + 1))
    # stage 2: SP-CAM masks are constant on every superpixel
    for name in ids:
        mask = np.array(Image.open(work / 'spcam_train_aug' / f'{name}.png'))
        sp = np.array(Image.open(root / 'superpixels' / 'felzenszwalb' /
                                 f'{name}.png'))
        assert mask.shape == (128, 128) and mask.max() <= 5
        for i in np.unique(sp)[:20]:
            assert len(np.unique(mask[sp == i])) == 1
    summary = json.load(open(work / 'spcam_train' /
                             'pseudo_label_summary.json'))
    assert 0 <= summary['evaluation']['mIoU'] <= 100
    # stage 3: one relabelling per round
    rounds = sorted(os.listdir(work / 'refine' / 'pseudo_labels'))
    assert rounds == ['iter_2', 'iter_4'], rounds
    text = open(work / 'spn_pipeline_summary.txt').read()
    assert 'SP-CAM pseudo masks, train mIoU: ' in text
    assert 'refinement round 2' in text
    assert 'refinement network on val: mIoU: ' in text
