"""Config helpers of the pseudo-label tools: split datasets, model loading,
process groups."""
import copy
import os
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)
from torch import nn

from wsss_mmseg.registry import MODELS

PSEUDO_LABEL_DATALOADER_KEYS = ('pseudo_label_dataloader', 'test_dataloader',
                                'val_dataloader')


def pseudo_label_dataloader_key(cfg: Config,
                                dataloader_key: Optional[str] = None) -> str:
    """The dataloader key the pseudo-label tools read (see
    :func:`split_dataset_cfg`)."""
    keys = (dataloader_key, ) if dataloader_key else \
        PSEUDO_LABEL_DATALOADER_KEYS
    key = next((k for k in keys if cfg.get(k) is not None), None)
    if key is None:
        raise KeyError(f'the config defines none of {list(keys)}; add a '
                       '`pseudo_label_dataloader` (see '
                       'configs/_base_/datasets/*_weak.py)')
    return key


def split_dataset_cfg(cfg: Config,
                      split: Optional[str] = None,
                      dataloader_key: Optional[str] = None) -> ConfigDict:
    """The dataset config of a named split.

    The dataset of ``cfg[dataloader_key]`` (default: the first of
    ``pseudo_label_dataloader``, ``test_dataloader``, ``val_dataloader``
    present) with, for ``split``:

    1. ``cfg.pseudo_label_splits[split]`` merged into it when the config
       defines that dict (e.g. COCO's ``train`` -> ``dict(ann_file=...,
       data_prefix=dict(img_path='train2014', ...))``), otherwise
    2. the stem of its ``ann_file`` replaced by ``split``
       (``ImageSets/Segmentation/train.txt`` -> ``.../train_aug.txt``).

    Args:
        cfg (Config): The full config.
        split (str, optional): Split name; None keeps the config's split.
        dataloader_key (str, optional): Which dataloader to take.

    Returns:
        ConfigDict: A copy of the dataset config.
    """
    key = pseudo_label_dataloader_key(cfg, dataloader_key)
    dataset = copy.deepcopy(cfg[key]['dataset'])
    if split is None:
        return dataset
    overrides = (cfg.get('pseudo_label_splits') or {}).get(split)
    if overrides is not None:
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(dataset.get(k), dict):
                dataset[k].update(v)
            else:
                dataset[k] = v
        return dataset
    ann_file = dataset.get('ann_file')
    if not ann_file:
        raise KeyError(
            f'{key}.dataset has no ann_file, so split {split!r} can not be '
            'selected; define pseudo_label_splits in the config')
    directory, base = osp.split(ann_file)
    ext = osp.splitext(base)[1]
    dataset['ann_file'] = osp.join(directory, split + ext)
    full = osp.join(dataset.get('data_root') or '', dataset['ann_file'])
    if not osp.isfile(full):
        folder = osp.dirname(full)
        known = sorted(
            osp.splitext(f)[0] for f in os.listdir(folder)
            if f.endswith(ext)) if osp.isdir(folder) else []
        raise FileNotFoundError(
            f'split {split!r}: image list {full} not found (splits in '
            f'{folder}: {known})')
    return dataset


def init_weak_model(cfg: Config,
                    checkpoint: Optional[str] = None,
                    device: Optional[str] = None) -> nn.Module:
    """Build ``cfg.model`` and load a checkpoint, checking class counts.

    Unlike ``mmseg.apis.init_model`` this fails loudly when the checkpoint
    was trained for a different number of classes than the model / dataset
    of ``cfg`` (mmengine would only warn about the size mismatches).

    Args:
        cfg (Config): Config with ``model``.
        checkpoint (str, optional): Checkpoint file.
        device (str, optional): Default 'cuda' if available else 'cpu'.

    Returns:
        nn.Module: The model in eval mode.
    """
    init_default_scope(cfg.get('default_scope', 'wsss_mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    if 'backbone' in model_cfg:
        model_cfg['backbone'].pop('init_cfg', None)
    model_cfg.pop('init_cfg', None)
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        ckpt = _load_checkpoint(checkpoint, map_location='cpu')
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt,
                                                            dict) else ckpt
        check_checkpoint_classes(model, state,
                                 (ckpt.get('meta') or {}) if isinstance(
                                     ckpt, dict) else {}, checkpoint)
        _load_checkpoint_to_model(model, ckpt)
        meta = (ckpt.get('meta') if isinstance(ckpt, dict) else None) or {}
        if 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model.cfg = cfg
    return model.to(device).eval()


def check_checkpoint_classes(model: nn.Module, state: Dict, meta: Dict,
                             filename: str) -> None:
    """Raise if a checkpoint's class count differs from the model's.

    Looks at ``meta['dataset_meta']['classes']`` and at parameters whose
    shapes differ from the model's.

    Raises:
        ValueError: naming the checkpoint, the counts and the parameters.
    """
    from .model_utils import model_num_classes
    n_model = model_num_classes(model)
    classes = (meta.get('dataset_meta') or {}).get('classes')
    if classes is not None and n_model is not None and \
            len(classes) != n_model:
        raise ValueError(
            f'checkpoint {filename} was trained on {len(classes)} classes, '
            f'the model of the config predicts {n_model}')
    own = model.state_dict()
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape))
                  for k, v in state.items()
                  if k in own and hasattr(v, 'shape')
                  and tuple(v.shape) != tuple(own[k].shape)]
    if mismatched:
        details = ', '.join(f'{k}: checkpoint {a} vs model {b}'
                            for k, a, b in mismatched[:5])
        hint = ''
        if n_model is not None and any(
                a and b and a[0] != b[0] and b[0] in (n_model, n_model - 1)
                for _, a, b in mismatched):
            hint = (f' (the model has {n_model} classes; was the checkpoint '
                    'trained on another dataset?)')
        raise ValueError(f'checkpoint {filename} does not fit the model: '
                         f'{details}{hint}')


def init_dist_for_launcher(launcher: str) -> None:
    """Initialise the default process group for ``--launcher``.

    With CUDA: mmengine's ``init_dist`` (nccl). Without CUDA: gloo via
    :func:`wsss_mmseg.engine.runners.init_cpu_dist` (mmengine's version
    calls ``torch.cuda.set_device``).
    """
    if launcher == 'none':
        return
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        init_dist(launcher)
    else:
        from wsss_mmseg.engine.runners import init_cpu_dist
        init_cpu_dist(launcher, backend='gloo')
        print_log(
            f'initialised a gloo process group (rank '
            f"{os.environ.get('RANK')}/{os.environ.get('WORLD_SIZE')})",
            logger='current')
