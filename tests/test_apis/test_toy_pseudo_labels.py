"""End to end on the toy dataset (tools/dataset_converters/make_toy_dataset.py)
with the demo config: the hook logs pseudo-label mIoU during training, and
the pseudo-label dataset config trains on the written labels."""
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs/cam/cam_resnet-tiny_toy.py'


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy') / 'toy'
    subprocess.run(
        [sys.executable,
         str(REPO / 'tools/dataset_converters/make_toy_dataset.py'),
         '--out-dir', str(root), '--num-train-aug', '16', '--num-train', '8',
         '--num-val', '4'],
        check=True, capture_output=True, timeout=300)
    return str(root)


def set_data_root(node, root):
    """Set every dataset's data_root in a (nested) config dict."""
    if isinstance(node, dict):
        if 'data_root' in node:
            node['data_root'] = root
        for value in node.values():
            set_data_root(value, root)
    elif isinstance(node, list):
        for value in node:
            set_data_root(value, root)


@pytest.mark.slow
def test_hook_in_demo_config_logs_pseudo_label_miou(toy_root, tmp_path):
    from wsss_mmseg.engine.hooks import PseudoLabelHook
    from wsss_mmseg.engine.runners import build_runner
    cfg = Config.fromfile(str(DEMO_CONFIG))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'pseudo_label_dataloader'):
        set_data_root(cfg[key], toy_root)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_iters = 4
    cfg.train_cfg.val_interval = 100
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 100
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='PseudoLabelHook', split='train', every_n_train_iters=2,
             update_train_dataset=False,
             generator_cfg=dict(crf_workers=0, progress=False))
    ]
    runner = build_runner(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, PseudoLabelHook))
    assert [h['iter'] for h in hook.history] == [2, 4]
    assert all(h['written'] == 8 and h['mIoU'] is not None
               for h in hook.history)
    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    assert 'pseudo_label/mIoU' in log
    assert f"mIoU {hook.history[-1]['mIoU']:.2f}" in log


@pytest.mark.slow
def test_toy_pseudo_dataset_config_reads_pseudo_labels(toy_root, tmp_path):
    from wsss_mmseg.apis import build_dataset, write_label_png
    label_dir = tmp_path / 'labels'
    label_dir.mkdir()
    # fake pseudo labels: the first class of each image everywhere
    names = open(osp.join(toy_root, 'ImageSets/Segmentation/train_aug.txt')
                 ).read().split()
    for i, name in enumerate(names):
        write_label_png(str(label_dir / f'{name}.png'),
                        np.full((128, 128), 1 + i % 5, np.uint8))
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/toy_pseudo.py'))
    ds_cfg = cfg.train_dataloader.dataset
    set_data_root(ds_cfg, toy_root)
    ds_cfg.data_prefix.seg_map_path = str(label_dir)
    dataset = build_dataset(ds_cfg)
    assert len(dataset) == len(names) == 16
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        assert osp.dirname(info['seg_map_path']) == str(label_dir)
    for idx in (0, 3):
        sample = dataset[idx]['data_samples']
        name = osp.splitext(osp.basename(sample.img_path))[0]
        values = set(np.unique(sample.gt_sem_seg.data.numpy()).tolist())
        # the fake label of that image (+ 255 of padding, if any)
        assert 1 + names.index(name) % 5 in values
        assert values <= {1 + names.index(name) % 5, 255}


@pytest.mark.parametrize('name,ann_file,img_dir', [
    ('toy_pseudo', 'ImageSets/Segmentation/train_aug.txt', 'JPEGImages'),
    ('voc_pseudo', 'ImageSets/Segmentation/train_aug.txt', 'JPEGImages'),
    ('coco_pseudo', 'ImageSets/train.txt', 'train2014'),
])
def test_pseudo_dataset_configs_merge(name, ann_file, img_dir):
    cfg = Config.fromfile(str(REPO / f'configs/_base_/datasets/{name}.py'))
    ds = cfg.train_dataloader.dataset
    assert ds.ann_file == ann_file
    # the base's image folder is kept, the masks come from the pseudo labels
    assert ds.data_prefix == dict(
        img_path=img_dir, seg_map_path=cfg.pseudo_label_dir)
    assert [t['type'] for t in ds.pipeline][:2] == [
        'LoadImageFromFile', 'LoadAnnotations'
    ]
    # validation keeps the real masks
    assert cfg.val_dataloader.dataset.data_prefix.seg_map_path != \
        cfg.pseudo_label_dir
