"""Fixtures of the dataset converter tests (helpers are fixtures: tests
must not import from ``tests.`` or conftest)."""
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _load_tool(name: str):
    """Import ``tools/dataset_converters/<name>.py`` as a module."""
    path = osp.join(REPO, 'tools', 'dataset_converters', name + '.py')
    assert osp.isfile(path), path
    spec = importlib.util.spec_from_file_location(f'_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def load_tool():
    return _load_tool


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO
