"""A Runner that also trains distributed on machines without CUDA.

mmengine 0.10.7 assumes a GPU per process in two places:

* ``mmengine.dist._init_dist_pytorch`` (and the slurm/mpi variants) call
  ``torch.cuda.set_device(local_rank)`` before creating the process group;
* ``Runner.wrap_model`` builds ``MMDistributedDataParallel`` with
  ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU module.

:class:`DeviceAwareRunner` keeps the stock behaviour whenever an accelerator
is present and, on a CPU-only machine, creates the process group itself
(``gloo``, from the launcher's environment variables) and wraps the model
with ``device_ids=None``. Our base runtime config selects it with
``runner_type='wsss_mmseg.DeviceAwareRunner'``, so ``tools/dist_train.sh
CONFIG 2`` runs two CPU processes on a laptop or CI box.
"""
import copy
import datetime
import os
import subprocess
from typing import Dict, Optional, Tuple, Union

import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import broadcast, is_distributed
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import (MMDistributedDataParallel, is_model_wrapper,
                            revert_sync_batchnorm)
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from mmengine.utils.dl_utils import set_multi_processing
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from wsss_mmseg.registry import RUNNERS

#: Process-group backends that work without an accelerator.
CPU_BACKENDS = ('gloo', 'mpi')


def _require_env(launcher: str, *names: str) -> Tuple[str, ...]:
    """Values of environment variables a launcher must have set.

    Raises:
        KeyError: Naming every missing variable and the launcher.
    """
    missing = [name for name in names if name not in os.environ]
    if missing:
        raise KeyError(
            f'launcher={launcher!r} expects the environment variables '
            f'{", ".join(names)} (set by torchrun / tools/dist_train.sh, '
            f'srun or mpirun), but {", ".join(missing)} '
            f'{"is" if len(missing) == 1 else "are"} not set.')
    return tuple(os.environ[name] for name in names)


def cpu_dist_env(launcher: str, port: Optional[int] = None) -> Dict[str, str]:
    """Export ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_*`` variables.

    Mirrors what mmengine's ``_init_dist_{pytorch,slurm,mpi}`` derive from
    their launchers, without touching CUDA.

    Args:
        launcher (str): ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        port (int, optional): Master port for slurm/mpi; defaults to
            ``$MASTER_PORT`` or 29500 like mmengine.

    Returns:
        dict: The variables that ``init_process_group(init_method='env://')``
        reads, also written to ``os.environ``.
    """
    env = os.environ
    if launcher == 'pytorch':
        _require_env(launcher, 'RANK', 'WORLD_SIZE', 'MASTER_ADDR',
                     'MASTER_PORT')
        env.setdefault('LOCAL_RANK', '0')
    elif launcher == 'slurm':
        rank, world_size, node_list = _require_env(
            launcher, 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
        env['RANK'], env['WORLD_SIZE'] = rank, world_size
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    elif launcher == 'mpi':
        rank, world_size, local_rank, _ = _require_env(
            launcher, 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
            'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR')
        env['RANK'], env['WORLD_SIZE'] = rank, world_size
        env['LOCAL_RANK'] = local_rank
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', '29500')
    else:
        raise ValueError(f'Invalid launcher type: {launcher!r}; expected '
                         "'pytorch', 'slurm' or 'mpi'.")
    names = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')
    return {name: env[name] for name in names}


def init_cpu_dist(launcher: str,
                  backend: str = 'gloo',
                  init_backend: str = 'torch',
                  port: Optional[int] = None,
                  timeout: Optional[Union[int, float]] = None,
                  **kwargs) -> str:
    """Create the default process group on a machine without CUDA.

    The counterpart of :func:`mmengine.dist.init_dist` that never calls
    ``torch.cuda.set_device``. Accepts the keys of ``env_cfg.dist_cfg``.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        backend (str): Requested backend. GPU-only backends (``nccl``, ...)
            are replaced by ``gloo`` with a log message, so one config works
            on GPU and CPU machines. Defaults to ``'gloo'``.
        init_backend (str): Only ``'torch'`` is supported without CUDA.
        port (int, optional): Master port (slurm/mpi launchers).
        timeout (int | float, optional): Seconds, as in mmengine's dist_cfg.
        **kwargs: Passed to :func:`torch.distributed.init_process_group`.

    Returns:
        str: The backend that was used.
    """
    if init_backend != 'torch':
        raise ValueError(
            f'env_cfg.dist_cfg.init_backend={init_backend!r} needs GPUs; '
            "only 'torch' can initialise a CPU process group.")
    if backend not in CPU_BACKENDS:
        print_log(
            f'wsss_mmseg: env_cfg.dist_cfg.backend={backend!r} needs GPUs '
            'and none is available; using the "gloo" backend.',
            logger='current')
        backend = 'gloo'
    env = cpu_dist_env(launcher, port=port)
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(
        backend=backend,
        init_method='env://',
        rank=int(env['RANK']),
        world_size=int(env['WORLD_SIZE']),
        **kwargs)
    return backend


def _has_sync_bn(model: nn.Module) -> bool:
    """Whether any submodule is a torch or mmcv SyncBatchNorm."""
    return any(type(m).__name__ == 'SyncBatchNorm' for m in model.modules())


class RankZeroBuffersHook(Hook):
    """Broadcast the model's buffers from rank 0 before validation/test.

    Added by :class:`DeviceAwareRunner` for CPU distributed runs (not
    registered: it is not meant for configs). With BatchNorm statistics kept
    per process, rank 0's are the ones saved in checkpoints; evaluating every
    shard with them makes in-training validation equal to testing the
    checkpoint.
    """

    priority = 'VERY_HIGH'

    def before_val_epoch(self, runner) -> None:
        self._sync(runner)

    def before_test_epoch(self, runner) -> None:
        self._sync(runner)

    @staticmethod
    def _sync(runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for buffer in model.buffers():
            broadcast(buffer, src=0)


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """``mmengine.runner.Runner`` that runs distributed on CPU-only machines.

    With CUDA (or another accelerator mmengine knows) everything is the stock
    Runner. Without one, and only when ``launcher != 'none'``:

    * ``setup_env`` creates the process group with :func:`init_cpu_dist`
      (``gloo``; ``env_cfg.dist_cfg.backend='nccl'`` is replaced so GPU
      configs run unchanged; ``timeout`` and other dist_cfg keys are kept);
    * ``wrap_model`` builds ``MMDistributedDataParallel`` (or the configured
      ``model_wrapper_cfg`` type) with ``device_ids=None`` and converts
      SyncBN layers back to BatchNorm, since torch's SyncBatchNorm refuses
      CPU tensors in a process group (batch statistics are then per
      process; a warning says so);
    * a :class:`RankZeroBuffersHook` copies rank 0's buffers (BN running
      statistics) to every rank before each validation/test epoch: with
      per-process BN the ranks' statistics drift apart, and rank 0's are
      the ones the checkpoint holds, so validation during training then
      agrees with ``tools/test.py`` on the saved checkpoint.

    On every machine, ``build_dataloader`` also accepts ``num_workers=0``
    next to a config's ``persistent_workers=True`` (see there).

    Select it in a config with ``runner_type='wsss_mmseg.DeviceAwareRunner'``
    (our ``configs/_base_/default_runtime.py`` does). ``from_cfg`` is the
    inherited one, so ``RUNNERS.build(cfg)`` (mmseg's tools/train.py) and
    ``DeviceAwareRunner.from_cfg(cfg)`` both work.
    """

    @property
    def cpu_distributed(self) -> bool:
        """bool: Distributed and no accelerator: the CPU code paths apply."""
        return self.distributed and get_device() == 'cpu'

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise gloo without CUDA, then run the stock ``setup_env``.

        Args:
            env_cfg (dict): As in :meth:`mmengine.runner.Runner.setup_env`.
        """
        if self.cpu_distributed and not is_distributed():
            # Same order as the stock method: multiprocessing settings
            # (OMP_NUM_THREADS, start method) before the process group.
            set_multi_processing(
                **env_cfg.get('mp_cfg', {}), distributed=True)
            dist_cfg = copy.deepcopy(dict(env_cfg.get('dist_cfg', {})))
            dist_cfg.setdefault('backend', 'gloo')
            backend = init_cpu_dist(self.launcher, **dist_cfg)
            print_log(
                f'wsss_mmseg: no CUDA device; initialised a {backend} '
                f'process group (rank {torch_dist.get_rank()} of '
                f'{torch_dist.get_world_size()}).',
                logger='current')
        # The stock method skips init_dist when a group exists.
        super().setup_env(env_cfg)

    def register_hooks(self,
                       default_hooks: Optional[Dict] = None,
                       custom_hooks: Optional[list] = None) -> None:
        """Stock hooks, plus :class:`RankZeroBuffersHook` on CPU DDP."""
        super().register_hooks(default_hooks, custom_hooks)
        if self.cpu_distributed:
            self.register_hook(RankZeroBuffersHook())

    @staticmethod
    def build_dataloader(dataloader,
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False):
        """The stock method, accepting ``num_workers=0`` with persistence.

        Configs set ``persistent_workers=True`` next to ``num_workers=2``;
        overriding only ``num_workers=0`` (debugging, small CPU jobs) made
        torch's DataLoader raise. Persistence means nothing without workers,
        so it is switched off (with a log line) instead.

        Args:
            dataloader (DataLoader | dict): As in the stock Runner.
            seed (int, optional): As in the stock Runner.
            diff_rank_seed (bool): As in the stock Runner.

        Returns:
            DataLoader: The built dataloader.
        """
        if (isinstance(dataloader, dict)
                and dataloader.get('num_workers', 0) == 0
                and dataloader.get('persistent_workers', False)):
            dataloader = copy.copy(dataloader)
            dataloader['persistent_workers'] = False
            print_log(
                'wsss_mmseg: num_workers=0, so persistent_workers=True of '
                'the dataloader config is ignored.',
                logger='current')
        return Runner.build_dataloader(
            dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Wrap for DDP with ``device_ids=None`` when running on CPU.

        Args:
            model_wrapper_cfg (dict, optional): As in the stock Runner.
            model (nn.Module): The built model.

        Returns:
            nn.Module: The (wrapped) model.
        """
        if not self.cpu_distributed or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        model = model.to(get_device())
        if self.cfg.get('sync_bn') is not None or _has_sync_bn(model):
            self.logger.warning(
                'SyncBatchNorm needs GPUs: reverting SyncBN layers (and '
                'ignoring cfg.sync_bn) to BatchNorm for CPU distributed '
                'training; BN statistics are computed per process.')
            model = revert_sync_batchnorm(model)
        if model_wrapper_cfg is None:
            return MMDistributedDataParallel(
                module=model,
                device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
        model_wrapper_cfg = copy.deepcopy(model_wrapper_cfg)
        model_wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
        wrapper_type = MODEL_WRAPPERS.get(model_wrapper_cfg['type'])
        if wrapper_type is None:
            raise KeyError(f'model_wrapper_cfg.type='
                           f'{model_wrapper_cfg["type"]!r} is not a '
                           'registered model wrapper.')
        default_args: dict = dict(module=model)
        if issubclass(wrapper_type, DistributedDataParallel):
            default_args['device_ids'] = None
        return MODEL_WRAPPERS.build(
            model_wrapper_cfg, default_args=default_args)


def build_runner(cfg) -> Runner:
    """Build the runner a config asks for, defaulting to DeviceAwareRunner.

    ``cfg.runner_type`` (any registered runner, e.g. mmseg's or ours as
    ``'wsss_mmseg.DeviceAwareRunner'``) is built through the registry like
    mmseg's tools do; a config without it gets :class:`DeviceAwareRunner`
    (the stock Runner on GPU machines), so plain mmseg configs also run
    distributed on CPU. Used by ``tools/train.py`` and ``tools/test.py``.

    Args:
        cfg (Config | dict): A full runner config.

    Returns:
        Runner: The built runner.
    """
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return DeviceAwareRunner.from_cfg(cfg)
