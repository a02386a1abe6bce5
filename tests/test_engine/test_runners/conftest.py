"""Helpers for the runner tests: a tiny model, its data and a free port."""
import socket

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.dataset import pseudo_collate
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import DataLoader, Dataset

from wsss_mmseg.registry import DATASETS, MODELS


class TinyRegressor(BaseModel):
    """Conv -> SyncBN -> pooled linear regression; a SyncBN on purpose.

    ``forward(inputs, data_samples, mode)`` follows mmengine's BaseModel:
    ``inputs`` is a list of (3, 8, 8) tensors, ``data_samples`` a list of
    float targets.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.SyncBatchNorm(4)
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs)
        out = self.fc(self.bn(self.conv(x)).mean((2, 3))).squeeze(1)
        if mode == 'loss':
            target = torch.as_tensor(data_samples, dtype=out.dtype)
            return dict(loss=((out - target)**2).mean())
        return out


class TinyDataset(Dataset):
    """``num`` random (3, 8, 8) images with 0/1 targets."""

    def __init__(self, num: int = 8) -> None:
        gen = torch.Generator().manual_seed(0)
        self.data = [
            dict(
                inputs=torch.rand(3, 8, 8, generator=gen),
                data_samples=float(i % 2)) for i in range(num)
        ]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx: int) -> dict:
        return self.data[idx]


def _tiny_dataloader(num: int = 8) -> DataLoader:
    """:class:`TinyDataset` in batches of 2."""
    return DataLoader(
        TinyDataset(num), batch_size=2, collate_fn=pseudo_collate)


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def torchrun_env(monkeypatch):
    """Environment of rank 0 in a 1-process torchrun job; group torn down."""
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(_free_port()))
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@pytest.fixture
def tiny_model() -> TinyRegressor:
    """A fresh :class:`TinyRegressor`."""
    return TinyRegressor()


@pytest.fixture
def tiny_loader() -> DataLoader:
    """8 random images in batches of 2 (see :func:`_tiny_dataloader`)."""
    return _tiny_dataloader()


@pytest.fixture
def free_port() -> int:
    """A free local TCP port."""
    return _free_port()


@pytest.fixture
def tiny_cfg_types():
    """Register the tiny model/dataset for config dicts; removed afterwards.

    Returns:
        dict: Their registry names, ``model`` and ``dataset``.
    """
    names = dict(model='_TestTinyRegressor', dataset='_TestTinyDataset')
    MODELS.register_module(names['model'], module=TinyRegressor)
    DATASETS.register_module(names['dataset'], module=TinyDataset)
    yield names
    MODELS._module_dict.pop(names['model'])
    DATASETS._module_dict.pop(names['dataset'])
