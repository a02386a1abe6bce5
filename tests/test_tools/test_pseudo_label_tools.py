"""tools/make_pseudo_labels.py, dist_make_pseudo_labels.sh,
eval_pseudo_labels.py: kill + resume, 2-process sharding, bad input."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
KIT_DIR = REPO / 'tests' / 'test_apis'
sys.path.insert(0, str(KIT_DIR))  # pl_testkit: tiny dataset + model

import pl_testkit as kit  # noqa: E402

from wsss_mmseg.apis import SUMMARY_FILE, is_complete_png  # noqa: E402


def free_port() -> int:
    """A TCP port nobody listens on right now (for torchrun)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'pl_tool_{name.replace("/", "_")}', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _scope():
    from mmengine.registry import init_default_scope
    init_default_scope('wsss_mmseg')


@pytest.fixture()
def setup(tmp_path):
    """A tiny dataset, a config and a checkpoint of the tiny model."""
    root = kit.make_tiny_voc(str(tmp_path / 'data'), num_images=10)
    cfg = dict(
        default_scope='wsss_mmseg',
        custom_imports=dict(imports=['pl_testkit']),
        model=kit.model_cfg(),
        pseudo_label_dataloader=dict(
            batch_size=1, num_workers=1,
            dataset=kit.dataset_cfg(root, 'val')),
        pseudo_label_cfg=dict(progress=False))
    cfg_path = tmp_path / 'pl_cfg.py'
    Config(cfg).dump(str(cfg_path))
    from wsss_mmseg.registry import MODELS
    model = MODELS.build(kit.model_cfg())
    ckpt = tmp_path / 'model.pth'
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=kit.CLASSES))), ckpt)
    return dict(root=root, cfg=str(cfg_path), ckpt=str(ckpt), tmp=tmp_path)


def env():
    return dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=os.pathsep.join([str(KIT_DIR), str(REPO)]))


def png_stats(directory):
    return {
        f: (os.stat(directory / f).st_ino, os.stat(directory / f).st_mtime_ns)
        for f in os.listdir(directory) if f.endswith('.png')
    }


def test_split_selection_and_eval_in_process(setup):
    tool = load_tool('make_pseudo_labels')
    out = setup['tmp'] / 'out'
    summary = tool.main([
        setup['cfg'], setup['ckpt'], '--split', 'train', '--out-dir',
        str(out), '--eval', '--crf-workers', '0'
    ])
    assert summary['num_images'] == 10 and summary['written'] == 10
    assert summary['evaluation']['mIoU'] > 50
    val = tool.main([
        setup['cfg'], setup['ckpt'], '--out-dir',
        str(setup['tmp'] / 'val'), '--crf-workers', '0'
    ])
    assert val['num_images'] == 5 and val['evaluation'] is None
    # the eval tool agrees with the engine's own evaluation
    ev = load_tool('eval_pseudo_labels')
    res = ev.main([
        str(out), '--config', setup['cfg'], '--split', 'train', '--out',
        str(setup['tmp'] / 'ev.json')
    ])
    assert res['mIoU'] == pytest.approx(summary['evaluation']['mIoU'])
    res2 = ev.main([
        str(out), '--gt-dir',
        os.path.join(setup['root'], 'SegmentationClass'), '--classes',
        *kit.CLASSES
    ])
    assert res2['mIoU'] == pytest.approx(res['mIoU'])
    assert json.loads((setup['tmp'] / 'ev.json').read_text())['mIoU'] == \
        res['mIoU']


def test_eval_tool_missing_gt_and_pred(setup, capsys):
    tool = load_tool('make_pseudo_labels')
    out = setup['tmp'] / 'out'
    tool.main([setup['cfg'], setup['ckpt'], '--split', 'train',
               '--out-dir', str(out), '--crf-workers', '0'])
    gt_dir = Path(setup['root']) / 'SegmentationClass'
    os.remove(gt_dir / 'img_003.png')
    ev = load_tool('eval_pseudo_labels')
    res = ev.main([str(out), '--gt-dir', str(gt_dir), '--num-classes', '4'])
    assert res['missing_gt'] == ['img_003'] and res['num_evaluated'] == 9
    assert 'img_003' in capsys.readouterr().err
    os.remove(out / 'img_005.png')
    split_file = Path(setup['root']) / 'ImageSets/Segmentation/train.txt'
    with pytest.raises(FileNotFoundError, match='img_005'):
        ev.main([str(out), '--gt-dir', str(gt_dir), '--num-classes', '4',
                 '--split-file', str(split_file)])
    res = ev.main([str(out), '--gt-dir', str(gt_dir), '--num-classes', '4',
                   '--split-file', str(split_file), '--allow-missing'])
    assert res['num_evaluated'] == 8
    with pytest.raises(ValueError, match='--num-classes or --classes'):
        ev.main([str(out), '--gt-dir', str(gt_dir)])


def test_checkpoint_class_count_mismatch(setup):
    from wsss_mmseg.registry import MODELS
    tool = load_tool('make_pseudo_labels')
    bad = setup['tmp'] / 'bad.pth'
    model = MODELS.build(kit.model_cfg(num_classes=6))
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=list('abcdef')))),
               bad)
    with pytest.raises(ValueError, match='trained on 6 classes.* predicts 4'):
        tool.main([setup['cfg'], str(bad), '--out-dir',
                   str(setup['tmp'] / 'o')])
    # no meta: the parameter shapes tell
    torch.save(dict(state_dict=model.state_dict()), bad)
    with pytest.raises(ValueError, match=r'protos.*\(6, 3\).*\(4, 3\)'):
        tool.main([setup['cfg'], str(bad), '--out-dir',
                   str(setup['tmp'] / 'o')])
    # model and dataset disagree (config edited)
    with pytest.raises(ValueError, match='predicts 6 classes'):
        tool.main([setup['cfg'], str(bad), '--cfg-options',
                   'model.num_classes=6', '--out-dir',
                   str(setup['tmp'] / 'o')])


def test_cli_bad_inputs(setup):
    tool = load_tool('make_pseudo_labels')
    blocker = setup['tmp'] / 'blocker'
    blocker.write_text('')
    with pytest.raises(PermissionError, match='not writable'):
        tool.main([setup['cfg'], setup['ckpt'], '--out-dir',
                   str(blocker / 'sub')])
    cfg = Config.fromfile(setup['cfg'])
    cfg.pseudo_label_dataloader.dataset.pipeline = [
        p for p in cfg.pseudo_label_dataloader.dataset.pipeline
        if p['type'] != 'PLTestImgLabelsFromMask'
    ]
    nolabels = setup['tmp'] / 'nolabels.py'
    cfg.dump(str(nolabels))
    with pytest.raises(ValueError, match='no image-level labels'):
        tool.main([str(nolabels), setup['ckpt'], '--out-dir',
                   str(setup['tmp'] / 'o'), '--require-img-labels'])
    with pytest.raises(FileNotFoundError,
                       match=r"'nosuchsplit'.*\['train', 'train_aug', 'val'\]"):
        tool.main([setup['cfg'], setup['ckpt'], '--split', 'nosuchsplit',
                   '--out-dir', str(setup['tmp'] / 'o')])


@pytest.mark.slow
def test_sigkill_half_way_then_resume(setup):
    out = setup['tmp'] / 'out'
    cmd = [
        sys.executable,
        str(REPO / 'tools/make_pseudo_labels.py'), setup['cfg'],
        setup['ckpt'], '--split', 'train', '--out-dir',
        str(out), '--crf', '--crf-params', 'n_iter=2', '--crf-workers', '2'
    ]
    proc = subprocess.Popen(
        cmd + ['--cfg-options', 'model.delay=0.5'],
        cwd=str(REPO), env=env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if out.is_dir() and len(png_stats(out)) >= 4:
            break
        if proc.poll() is not None:
            pytest.fail('generator ended early: ' + proc.stderr.read()
                        .decode()[-2000:])
        time.sleep(0.05)
    # SIGKILL the generator and its CRF workers (whole process group)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    before = png_stats(out)
    assert 4 <= len(before) < 10, 'the kill did not land half way'
    assert all(is_complete_png(str(out / f)) for f in before)
    assert not (out / SUMMARY_FILE).exists()
    done = subprocess.run(
        cmd, cwd=str(REPO), env=env(), capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    after = png_stats(out)
    assert sorted(after) == [f'img_{i:03d}.png' for i in range(10)]
    for name, stat in before.items():
        assert after[name] == stat, f'{name} was rewritten'
    for name in after:
        with Image.open(out / name) as img:
            img.load()
            assert img.size == (48, 40)
    assert not [f for f in os.listdir(out) if '.tmp-' in f]
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary['skipped'] == len(before)
    assert summary['written'] == 10 - len(before)


@pytest.mark.slow
def test_two_cpu_processes_write_every_image_once(setup):
    out = setup['tmp'] / 'out'
    proc = subprocess.run(
        [str(REPO / 'tools/dist_make_pseudo_labels.sh'), setup['cfg'],
         setup['ckpt'], '2', '--split', 'train', '--out-dir', str(out),
         '--eval', '--crf-workers', '1'],
        cwd=str(REPO),
        env=dict(env(), PYTHON=sys.executable, PORT=str(free_port())),
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary['world_size'] == 2
    per_rank = [set(r['written_names']) for r in summary['ranks']]
    assert per_rank[0] and per_rank[1] and not per_rank[0] & per_rank[1]
    assert sorted(per_rank[0] | per_rank[1]) == sorted(png_stats(out))
    assert len(png_stats(out)) == 10 and summary['written'] == 10
    # the distributed evaluation equals a single-process one
    ev = load_tool('eval_pseudo_labels')
    res = ev.main([str(out), '--config', setup['cfg'], '--split', 'train'])
    assert res['mIoU'] == pytest.approx(summary['evaluation']['mIoU'])


def test_visualize_tool_writes_grids(setup):
    vis = load_tool('analysis/visualize')
    written = vis.main([setup['cfg'], setup['ckpt'], '--split', 'train',
                        '--out-dir', str(setup['tmp'] / 'vis'),
                        '--num-images', '2', '--height', '40'])
    assert [Path(p).name for p in written] == ['img_000.png', 'img_001.png']
    grid = np.array(Image.open(written[1]))
    # img_001: image + 3 heat maps (bg, green, blue) + pseudo + gt
    assert grid.shape[1] == 6 * 48 and grid.shape[0] > 40 + 18
    # pseudo labels from a directory
    tool = load_tool('make_pseudo_labels')
    tool.main([setup['cfg'], setup['ckpt'], '--split', 'train',
               '--out-dir', str(setup['tmp'] / 'pl'), '--crf-workers', '0'])
    out = vis.main([setup['cfg'], setup['ckpt'], '--split', 'train',
                    '--out-dir', str(setup['tmp'] / 'vis2'), '--names',
                    'img_004', '--pseudo-dir', str(setup['tmp'] / 'pl')])
    assert [Path(p).name for p in out] == ['img_004.png']
    with pytest.raises(KeyError, match='nope'):
        vis.main([setup['cfg'], setup['ckpt'], '--out-dir',
                  str(setup['tmp'] / 'v3'), '--names', 'nope'])


def test_score_dir_and_postprocess_flags(setup):
    tool = load_tool('make_pseudo_labels')
    out, scores = setup['tmp'] / 'out', setup['tmp'] / 'scores'
    summary = tool.main([
        setup['cfg'], setup['ckpt'], '--split', 'train', '--out-dir',
        str(out), '--score-dir', str(scores), '--postprocess',
        'ConfidenceThresholdLabeler', '--crf-workers', '0'
    ])
    assert summary['settings']['postprocess'] == 'ConfidenceThresholdLabeler'
    assert sorted(os.listdir(scores)) == [f'img_{i:03d}.npz'
                                          for i in range(10)]
    assert len(png_stats(out)) == 10


def test_default_out_dir(setup, monkeypatch):
    tool = load_tool('make_pseudo_labels')
    monkeypatch.chdir(setup['tmp'])
    summary = tool.main([setup['cfg'], setup['ckpt'], '--split', 'train',
                         '--crf-workers', '0'])
    expected = setup['tmp'] / 'work_dirs/pl_cfg/pseudo_labels/train'
    assert summary['out_dir'] == str(expected)
    assert len(png_stats(expected)) == 10
