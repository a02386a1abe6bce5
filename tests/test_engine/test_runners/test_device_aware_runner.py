"""Tests of DeviceAwareRunner (CPU distributed training with mmengine).

Multi-process training through ``tools/dist_train.sh`` is tested end to end
in ``tests/test_tools/test_train_test.py``; here a 1-process gloo group
exercises the same code paths in-process.
"""
import os
import subprocess
import sys
import textwrap

import pytest
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from torch import nn

from wsss_mmseg.engine.runners import (DeviceAwareRunner, RankZeroBuffersHook,
                                       build_runner, cpu_dist_env,
                                       init_cpu_dist)
from wsss_mmseg.engine.runners import device_aware_runner as runner_module
from wsss_mmseg.registry import RUNNERS


def _runner_kwargs(name, tmp_path, model, loader, **overrides):
    kwargs = dict(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader,
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=2)),
        default_scope='wsss_mmseg',
        experiment_name=name)
    kwargs.update(overrides)
    return kwargs


def _sync_bn_count(model: nn.Module) -> int:
    return sum(isinstance(m, nn.SyncBatchNorm) for m in model.modules())


@pytest.fixture
def cpu_device(monkeypatch):
    """Take the CPU code paths even on a machine with a GPU."""
    monkeypatch.setattr(runner_module, 'get_device', lambda: 'cpu')


def test_registered_in_both_scopes():
    assert RUNNERS.get('DeviceAwareRunner') is DeviceAwareRunner
    # mmseg's tools build `runner_type` from mmseg's registry.
    assert MMSEG_RUNNERS.get(
        'wsss_mmseg.DeviceAwareRunner') is DeviceAwareRunner
    assert issubclass(DeviceAwareRunner, Runner)


@pytest.mark.parametrize('launcher,env,expected', [
    ('pytorch',
     dict(RANK='1', WORLD_SIZE='2', MASTER_ADDR='10.0.0.1',
          MASTER_PORT='1234'),
     dict(RANK='1', WORLD_SIZE='2', LOCAL_RANK='0', MASTER_ADDR='10.0.0.1',
          MASTER_PORT='1234')),
    ('slurm',
     dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1',
          SLURM_NODELIST='node[1-2]', MASTER_ADDR='node1'),
     dict(RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_ADDR='node1',
          MASTER_PORT='29500')),
    ('mpi',
     dict(OMPI_COMM_WORLD_RANK='2', OMPI_COMM_WORLD_SIZE='3',
          OMPI_COMM_WORLD_LOCAL_RANK='0', MASTER_ADDR='host0',
          MASTER_PORT='4321'),
     dict(RANK='2', WORLD_SIZE='3', LOCAL_RANK='0', MASTER_ADDR='host0',
          MASTER_PORT='4321')),
])
def test_cpu_dist_env(monkeypatch, launcher, env, expected):
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR',
                 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cpu_dist_env(launcher) == expected
    for name, value in expected.items():
        assert os.environ[name] == value


def test_cpu_dist_env_names_missing_variables(monkeypatch):
    monkeypatch.setenv('RANK', '0')
    for name in ('WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
            KeyError,
            match=r"launcher='pytorch'.*WORLD_SIZE, MASTER_ADDR, MASTER_PORT "
            'are not set'):
        cpu_dist_env('pytorch')
    with pytest.raises(ValueError, match="Invalid launcher type: 'none'"):
        cpu_dist_env('none')


def test_init_cpu_dist_replaces_gpu_backend(torchrun_env):
    backend = init_cpu_dist('pytorch', backend='nccl', timeout=60)
    assert backend == 'gloo'
    assert torch_dist.is_initialized()
    assert torch_dist.get_backend() == 'gloo'
    assert torch_dist.get_world_size() == 1


def test_init_cpu_dist_rejects_gpu_init_backend(torchrun_env):
    with pytest.raises(ValueError,
                       match="init_backend='deepspeed' needs GPUs"):
        init_cpu_dist('pytorch', init_backend='deepspeed')
    assert not torch_dist.is_initialized()


def test_single_process_is_stock_behaviour(tmp_path, tiny_model, tiny_loader):
    runner = DeviceAwareRunner(
        **_runner_kwargs('single', tmp_path, tiny_model, tiny_loader))
    assert not runner.distributed and not runner.cpu_distributed
    assert not is_model_wrapper(runner.model)
    assert not torch_dist.is_initialized()
    assert RankZeroBuffersHook not in [type(h) for h in runner.hooks]
    # The stock Runner reverts SyncBN without a process group, too.
    assert _sync_bn_count(runner.model) == 0
    runner.train()
    assert runner.iter == 2


def test_cpu_ddp_trains(tmp_path, tiny_model, tiny_loader, torchrun_env,
                        cpu_device):
    assert _sync_bn_count(tiny_model) == 1
    runner = DeviceAwareRunner(
        **_runner_kwargs(
            'cpu_ddp',
            tmp_path,
            tiny_model,
            tiny_loader,
            launcher='pytorch',
            # A GPU config: the runner must switch to gloo by itself.
            env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=120))))
    assert runner.cpu_distributed
    assert torch_dist.get_backend() == 'gloo'
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model.device_ids is None
    assert [type(h) for h in runner.hooks].count(RankZeroBuffersHook) == 1
    assert _sync_bn_count(runner.model) == 0
    before = runner.model.module.fc.weight.detach().clone()
    runner.train()
    assert runner.iter == 2
    assert not runner.model.module.fc.weight.detach().equal(before)


def test_cpu_ddp_model_wrapper_cfg(tmp_path, tiny_model, tiny_loader,
                                   torchrun_env, cpu_device):
    runner = DeviceAwareRunner(
        **_runner_kwargs(
            'wrapper_cfg',
            tmp_path,
            tiny_model,
            tiny_loader,
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            cfg=dict(
                model_wrapper_cfg=dict(
                    type='MMDistributedDataParallel',
                    find_unused_parameters=True))))
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model.device_ids is None
    assert runner.model.find_unused_parameters


def test_rank_zero_buffers_hook(monkeypatch, tiny_model):
    calls = []
    monkeypatch.setattr(runner_module, 'broadcast',
                        lambda tensor, src: calls.append((tensor, src)))
    runner = type('FakeRunner', (), {'model': tiny_model})()
    hook = RankZeroBuffersHook()
    hook.before_val_epoch(runner)
    buffers = list(tiny_model.buffers())
    assert len(buffers) == 3  # BN running mean/var, num_batches_tracked
    assert [t for t, _ in calls] == buffers
    assert {src for _, src in calls} == {0}
    calls.clear()
    hook.before_test_epoch(runner)
    assert len(calls) == 3


def test_build_from_cfg(tmp_path, tiny_cfg_types):
    cfg = _runner_kwargs(
        'from_cfg',
        tmp_path,
        dict(type=tiny_cfg_types['model']),
        dict(
            dataset=dict(type=tiny_cfg_types['dataset']),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate')),
        runner_type='wsss_mmseg.DeviceAwareRunner')
    # What mmseg's tools/train.py does with `runner_type` in the config.
    runner = MMSEG_RUNNERS.build(cfg)
    assert type(runner) is DeviceAwareRunner
    # Our tools: the same; without runner_type they default to ours.
    cfg['experiment_name'] = 'from_cfg_2'
    assert type(build_runner(cfg)) is DeviceAwareRunner
    del cfg['runner_type']
    cfg['experiment_name'] = 'from_cfg_3'
    runner = build_runner(cfg)
    assert type(runner) is DeviceAwareRunner
    runner.train()
    assert runner.iter == 2
    assert (tmp_path / 'iter_2.pth').is_file()


def test_runners_in_one_process_get_own_visualizers(tmp_path,
                                                    tiny_cfg_types):
    """Our runtime's visualizer has no fixed name: a second runner in the
    same process must not log into the first one's directory."""
    from pathlib import Path

    from mmengine.config import Config
    repo = Path(__file__).resolve().parents[3]
    runtime = Config.fromfile(repo / 'configs/_base_/default_runtime.py')
    runners = []
    for i in range(2):
        cfg = _runner_kwargs(
            f'vis_{i}', tmp_path / str(i), dict(type=tiny_cfg_types['model']),
            dict(
                dataset=dict(type=tiny_cfg_types['dataset']),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2,
                collate_fn=dict(type='pseudo_collate')),
            visualizer=runtime.visualizer)
        runners.append(build_runner(cfg))
    first, second = (r.visualizer for r in runners)
    assert first is not second
    save_dir = Path(second._vis_backends['LocalVisBackend']._save_dir)
    assert save_dir.is_relative_to(tmp_path / '1')


def test_num_workers_0_with_persistent_workers(tiny_cfg_types):
    cfg = dict(
        dataset=dict(type=tiny_cfg_types['dataset']),
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2,
        num_workers=0,
        persistent_workers=True,
        collate_fn=dict(type='pseudo_collate'))
    # The problem: torch refuses the combination.
    with pytest.raises(ValueError, match='persistent_workers option needs'):
        Runner.build_dataloader(cfg)
    loader = DeviceAwareRunner.build_dataloader(cfg)
    assert loader.num_workers == 0 and not loader.persistent_workers
    assert cfg['persistent_workers'] is True  # the config is not modified
    assert len(list(loader)) == 4


STOCK_RUNNER_ON_CPU = textwrap.dedent('''
    import os, sys
    import torch, torch.distributed as dist
    from mmengine.runner import Runner
    assert not torch.cuda.is_available()
    kwargs = dict(model=torch.nn.Linear(2, 2), work_dir=sys.argv[1],
                  launcher='pytorch',
                  env_cfg=dict(dist_cfg=dict(backend='gloo')))
    try:
        Runner(experiment_name='a', **kwargs)
    except Exception as e:
        print('INIT_DIST_FAILED', type(e).__name__, e)
    dist.init_process_group('gloo', rank=0, world_size=1)
    try:
        Runner(experiment_name='b', **kwargs)
    except Exception as e:
        print('WRAP_MODEL_FAILED', type(e).__name__, e)
''')


def test_stock_runner_cannot_run_ddp_on_cpu(tmp_path, free_port):
    """Fails loudly once mmengine's Runner handles CPU DDP by itself."""
    env = dict(
        os.environ,
        CUDA_VISIBLE_DEVICES='',
        RANK='0',
        LOCAL_RANK='0',
        WORLD_SIZE='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port))
    proc = subprocess.run([
        sys.executable, '-c', STOCK_RUNNER_ON_CPU,
        str(tmp_path)
    ],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    # init_dist -> torch.cuda.set_device(LOCAL_RANK)
    assert 'INIT_DIST_FAILED RuntimeError' in proc.stdout, proc.stdout
    # wrap_model -> MMDistributedDataParallel(device_ids=[LOCAL_RANK])
    assert 'WRAP_MODEL_FAILED ValueError' in proc.stdout, proc.stdout
    assert 'device_ids [0]' in proc.stdout
