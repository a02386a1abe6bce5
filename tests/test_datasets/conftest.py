"""Shared fixtures of the dataset tests: a tiny toy dataset on disk.

Helpers are fixtures (tests must not import from ``tests.`` or conftest).
"""
import importlib.util
import os.path as osp

import pytest
from mmengine.registry import init_default_scope

import wsss_mmseg  # noqa: F401  (registers the datasets and transforms)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CLASSES = ('background', 'disc', 'block', 'triangle', 'ring', 'cross')


def _load_tool(name: str):
    """Import ``tools/dataset_converters/<name>.py`` as a module."""
    path = osp.join(REPO, 'tools', 'dataset_converters', name + '.py')
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    return _load_tool


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory) -> str:
    """A 10-image toy dataset (6 train_aug incl. 3 train, 4 val), 64x64."""
    root = str(tmp_path_factory.mktemp('toy'))
    _load_tool('make_toy_dataset').make_toy_dataset(
        root, seed=3, num_train_aug=6, num_train=3, num_val=4, size=64)
    return root


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('wsss_mmseg')


@pytest.fixture
def toy_cfg(toy_root):
    """``toy_cfg(split='train_aug', root=toy_root, **overrides)`` -> dict."""

    def make(split: str = 'train_aug', root: str = None, **kwargs) -> dict:
        cfg = dict(
            type='PascalVOCWeakDataset',
            data_root=root or toy_root,
            metainfo=dict(classes=TOY_CLASSES),
            ann_file=f'ImageSets/Segmentation/{split}.txt',
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'),
            pipeline=[])
        cfg.update(kwargs)
        return cfg

    return make
