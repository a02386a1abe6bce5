"""PseudoLabelHook: rounds during training, mIoU logging, label switching."""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

import pl_testkit as kit
from wsss_mmseg.engine.hooks import PseudoLabelHook

REPO = Path(__file__).resolve().parents[3]
KIT_DIR = str(Path(kit.__file__).parent)


def free_port() -> int:
    """A TCP port nobody listens on right now (for torchrun)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def train_config(root: str, work_dir: str, max_iters: int = 4,
                 every: int = 2, runner_type: str = 'Runner',
                 persistent: bool = False) -> dict:
    train_ds = kit.dataset_cfg(root, 'train_aug')
    train_ds['test_mode'] = False
    # the first round trains on "initial pseudo labels": here the GT dir
    return dict(
        default_scope='wsss_mmseg',
        custom_imports=dict(imports=['pl_testkit']),
        work_dir=work_dir,
        runner_type=runner_type,
        model=kit.model_cfg(),
        train_dataloader=dict(
            batch_size=2,
            num_workers=1 if persistent else 0,
            persistent_workers=persistent,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=train_ds),
        pseudo_label_dataloader=dict(
            batch_size=1, dataset=kit.dataset_cfg(root, 'val')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.0)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(
                type='CheckpointHook', interval=max_iters, by_epoch=False)),
        custom_hooks=[
            dict(
                type='PseudoLabelHook',
                split='train',
                every_n_train_iters=every,
                generator_cfg=dict(crf_workers=0, progress=False))
        ],
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='INFO',
        randomness=dict(seed=0))


def test_hook_rounds_log_miou_and_switch_labels(tmp_path):
    from mmengine.runner import Runner
    root = kit.make_tiny_voc(str(tmp_path / 'data'))
    cfg = Config(train_config(root, str(tmp_path / 'work')))
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    runner.train()
    # rounds after iterations 2 and 4; the end of training does not repeat 4
    assert [h['iter'] for h in hook.history] == [2, 4]
    for round_info in hook.history:
        assert round_info['written'] == 6
        assert round_info['mIoU'] is not None and \
            0 < round_info['mIoU'] <= 100
        assert sorted(os.listdir(round_info['out_dir'])) == sorted(
            [f'img_{i:03d}.png' for i in range(6)] +
            ['pseudo_label_summary.json'])
    last = hook.history[-1]['out_dir']
    assert runner.message_hub.get_info('pseudo_label/dir') == last
    miou = runner.message_hub.get_scalar('train/pseudo_label/mIoU')
    assert miou.current() == pytest.approx(hook.history[-1]['mIoU'])
    # the training dataset now reads its masks from the last round
    ds = runner.train_dataloader.dataset
    assert ds.data_prefix['seg_map_path'] == last
    assert all(
        osp.dirname(info['seg_map_path']) == last for info in ds.data_list)
    # the mIoU is in the log written by the LoggerHook
    logs = list(Path(runner.log_dir).glob('*.log'))
    text = logs[0].read_text()
    assert 'pseudo labels of iteration 2' in text
    assert 'pseudo_label/mIoU' in text
    # the checkpoint remembers the label dir (restored on resume)
    import torch
    ckpt = torch.load(
        osp.join(runner.work_dir, 'iter_4.pth'), weights_only=False)
    assert ckpt['meta']['pseudo_label_dir'] == last

    # resuming points the training data at the saved label dir again
    cfg2 = Config(train_config(root, str(tmp_path / 'work2')))
    cfg2.custom_hooks[0]['at_train_end'] = False
    cfg2.load_from = osp.join(runner.work_dir, 'iter_4.pth')
    cfg2.resume = True
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()  # already at max_iters: only before/after_train run
    assert runner2.train_dataloader.dataset.data_prefix['seg_map_path'] == \
        last


def test_hook_restarts_persistent_workers(tmp_path):
    from mmengine.runner import Runner
    root = kit.make_tiny_voc(str(tmp_path / 'data'))
    cfg = Config(
        train_config(
            root, str(tmp_path / 'work'), max_iters=3, every=1,
            persistent=True))
    cfg.custom_hooks[0]['at_train_end'] = False
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    seen = []
    original = PseudoLabelHook._restart_iterator

    def spy(runner_):
        old = runner_.train_loop.dataloader_iterator._iterator
        original(runner_)
        seen.append(old is not runner_.train_loop.dataloader_iterator.
                    _iterator)

    hook._restart_iterator = spy
    runner.train()
    assert seen == [True, True, True]
    assert [h['iter'] for h in hook.history] == [1, 2, 3]


def test_hook_epoch_based_loop(tmp_path):
    from mmengine.runner import Runner
    root = kit.make_tiny_voc(str(tmp_path / 'data'))
    cfg = train_config(root, str(tmp_path / 'work'))
    cfg['train_cfg'] = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg['train_dataloader']['sampler'] = dict(
        type='DefaultSampler', shuffle=True)
    cfg['default_hooks']['checkpoint'] = dict(
        type='CheckpointHook', interval=1)
    cfg['custom_hooks'][0].update(
        every_n_train_iters=None, every_n_train_epochs=1)
    runner = Runner.from_cfg(Config(cfg))
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    runner.train()
    # 6 images, batch 2: 3 iterations per epoch; no extra round at the end
    assert [h['iter'] for h in hook.history] == [3, 6]
    assert runner.train_dataloader.dataset.data_prefix['seg_map_path'] == \
        hook.history[-1]['out_dir']


def test_hook_bad_config():
    with pytest.raises(ValueError, match='every_n_train_iters'):
        PseudoLabelHook(every_n_train_iters=0)
    with pytest.raises(KeyError, match='out_dir on the hook'):
        PseudoLabelHook(generator_cfg=dict(out_dir='x'))


@pytest.mark.slow
def test_hook_under_two_process_gloo_ddp(tmp_path):
    root = kit.make_tiny_voc(str(tmp_path / 'data'), num_images=8)
    work = tmp_path / 'work'
    cfg = train_config(root, str(work), max_iters=2, every=2,
                       runner_type='DeviceAwareRunner')
    cfg['launcher'] = 'pytorch'
    cfg_path = tmp_path / 'cfg.py'
    Config(cfg).dump(str(cfg_path))
    script = tmp_path / 'train_ddp.py'
    script.write_text(
        'import sys\n'
        'import wsss_mmseg  # noqa\n'
        'from mmengine.config import Config\n'
        'from wsss_mmseg.engine.runners import build_runner\n'
        'cfg = Config.fromfile(sys.argv[1])\n'
        "cfg.launcher = 'pytorch'\n"
        'runner = build_runner(cfg)\n'
        'runner.train()\n'
        'from wsss_mmseg.engine.hooks import PseudoLabelHook\n'
        'import json\n'
        'hook = next(h for h in runner.hooks if isinstance(h, '
        'PseudoLabelHook))\n'
        "print('HISTORY', json.dumps(dict(rank=runner.rank, "
        'history=hook.history, seg_dir=runner.train_dataloader.dataset.'
        "data_prefix['seg_map_path'])))\n")
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=KIT_DIR)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run',
         '--nproc_per_node=2', f'--master_port={free_port()}', str(script),
         str(cfg_path)],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [l for l in proc.stdout.splitlines() if l.startswith('HISTORY')]
    assert len(lines) == 2
    histories = {}
    for line in lines:
        record = json.loads(line.split(' ', 1)[1])
        histories[record['rank']] = record['history']
        assert record['seg_dir'] == record['history'][-1]['out_dir']
    assert histories[0] == histories[1]
    assert [h['iter'] for h in histories[0]] == [2]
    out_dir = histories[0][-1]['out_dir']
    summary = json.loads(
        (Path(out_dir) / 'pseudo_label_summary.json').read_text())
    assert summary['world_size'] == 2 and summary['written'] == 8
    names = [n for r in summary['ranks'] for n in r['written_names']]
    assert sorted(names) == sorted(set(names)) and len(names) == 8
    assert histories[0][-1]['mIoU'] > 0


def test_final_round_is_in_the_last_checkpoint(tmp_path):
    import torch
    from mmengine.runner import Runner
    root = kit.make_tiny_voc(str(tmp_path / 'data'))
    cfg = Config(train_config(root, str(tmp_path / 'work'), max_iters=3))
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    runner.train()
    # every 2 iterations + the end of training, once
    assert [h['iter'] for h in hook.history] == [2, 3]
    ckpt = torch.load(
        osp.join(runner.work_dir, 'iter_3.pth'), weights_only=False)
    assert ckpt['meta']['pseudo_label_dir'] == hook.history[-1]['out_dir']
