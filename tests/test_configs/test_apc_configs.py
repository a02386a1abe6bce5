"""APC configs: apc_vitb16_coco.py inherits the VOC recipe and restates the
dataset fields of the COCO base (a config has one chain of bases), so the
restated fields must stay equal to ``_base_/datasets/coco_weak.py`` and the
iteration-dependent values must follow the COCO epoch length."""
import os.path as osp

import pytest
from mmengine.config import Config

import wsss_mmseg  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
           'pseudo_label_dataloader')


def _load(rel: str) -> dict:
    return Config.fromfile(osp.join(REPO, 'configs', rel)).to_dict()


@pytest.fixture(scope='module')
def configs():
    return dict(
        coco=_load('apc/apc_vitb16_coco.py'),
        voc=_load('apc/apc_vitb16_voc.py'),
        coco_weak=_load('_base_/datasets/coco_weak.py'))


def _without_pipeline(loader: dict) -> dict:
    loader = dict(loader, dataset=dict(loader['dataset']))
    loader['dataset'].pop('pipeline')
    return loader


@pytest.mark.parametrize('loader', LOADERS)
def test_coco_loaders_are_coco_weak_with_apc_pipelines(configs, loader):
    coco, voc, base = configs['coco'], configs['voc'], configs['coco_weak']
    # every dataset field (class, root, split list, folders, labels) is the
    # COCO base's; the loader settings besides the dataset are APC's (VOC)
    assert coco[loader]['dataset'] == dict(
        base[loader]['dataset'], pipeline=voc[loader]['dataset']['pipeline'])
    assert ({k: v for k, v in coco[loader].items() if k != 'dataset'} ==
            {k: v for k, v in voc[loader].items() if k != 'dataset'})


def test_coco_top_level_dataset_keys_are_coco_weak(configs):
    coco, base = configs['coco'], configs['coco_weak']
    for key in ('dataset_type', 'data_root', 'pseudo_label_splits',
                'val_evaluator', 'test_evaluator', 'tta_pipeline',
                'pseudo_label_pipeline'):
        assert coco[key] == base[key], key


def test_coco_schedule_follows_its_epoch_length(configs):
    coco, voc = configs['coco'], configs['voc']
    epoch = coco['iters_per_epoch']
    assert epoch != voc['iters_per_epoch']
    assert coco['param_scheduler'][0]['milestones'] == [epoch]
    assert coco['custom_hooks'][0]['unfreeze_iter'] == epoch
    assert coco['model']['train_cfg']['seg_loss_warmup_iters'] == epoch
    assert coco['train_cfg']['max_iters'] == coco['num_epochs'] * epoch
    assert (coco['train_cfg']['val_interval'] ==
            coco['default_hooks']['checkpoint']['interval'])
    # 81 classes (80 + background) in every head
    model = coco['model']
    assert (model['num_classes'] == model['patch_head']['num_classes'] ==
            model['decode_head']['num_classes'] == 81)
    # the recipe itself is the VOC config's
    for key in ('train_pipeline', 'test_pipeline', 'optim_wrapper',
                'model_wrapper_cfg', 'auto_scale_lr'):
        assert coco[key] == voc[key], key
