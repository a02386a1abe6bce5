"""Model and dataset helpers shared by the pseudo-label engine, its hook and
tools (DDP unwrapping, class counts, temporary ``test_cfg`` overrides,
dataset building in the ``wsss_mmseg`` scope)."""
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Union

from mmengine.model import is_model_wrapper
from mmengine.registry import DefaultScope, init_default_scope
from torch import nn
from torch.utils.data import Dataset

from wsss_mmseg.registry import DATASETS


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare model of a DDP/FSDP wrapper (or the model itself)."""
    return model.module if is_model_wrapper(model) else model


def model_num_classes(model: nn.Module) -> Optional[int]:
    """Number of classes a segmentor predicts (None when unknown)."""
    for owner in (model, getattr(model, 'decode_head', None)):
        n = getattr(owner, 'num_classes', None)
        if isinstance(n, int):
            return n
    return None


def _is_weak_segmentor(model: nn.Module) -> bool:
    from wsss_mmseg.models.segmentors.base_weak_segmentor import \
        BaseWeakSegmentor
    return isinstance(model, BaseWeakSegmentor)


@contextmanager
def _test_cfg_overridden(model: nn.Module, overrides: Dict) -> Iterator:
    """Temporarily update ``model.test_cfg`` (restored on exit)."""
    cfg = getattr(model, 'test_cfg', None)
    if cfg is None:
        model.test_cfg = cfg = dict()
    old = dict(cfg)
    cfg.update(overrides)
    try:
        yield
    finally:
        cfg.clear()
        cfg.update(old)


def build_dataset(dataset: Union[Dataset, Dict]) -> Dataset:
    """Build a dataset config in the ``wsss_mmseg`` scope (or pass through).

    Args:
        dataset (Dataset | dict): A dataset or its config.

    Returns:
        Dataset: Fully initialised.
    """
    if isinstance(dataset, dict):
        if DefaultScope.get_current_instance() is None:
            init_default_scope('wsss_mmseg')
        dataset = DATASETS.build(dataset)
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    return dataset
