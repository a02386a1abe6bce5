"""PascalVOCWeakDataset / COCOWeakDataset on a tiny toy dataset."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from wsss_mmseg.datasets import (COCOWeakDataset, PascalVOCWeakDataset,
                                 load_cls_labels)
from wsss_mmseg.registry import DATASETS


def _copy(root, tmp_path):
    dst = str(tmp_path / 'toy')
    shutil.copytree(root, dst)
    return dst


def test_builds_with_file_labels(toy_root, toy_cfg):
    ds = DATASETS.build(toy_cfg('train_aug'))
    assert isinstance(ds, PascalVOCWeakDataset)
    assert len(ds) == 6
    assert ds.num_classes == 6
    table = load_cls_labels(osp.join(toy_root, 'cls_labels.npy'))
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        img_id = info['img_id']
        assert info['img_path'] == osp.join(toy_root, 'JPEGImages',
                                            img_id + '.jpg')
        assert info['seg_map_path'] == osp.join(
            toy_root, 'SegmentationClass', img_id + '.png')
        assert info['img_labels'].dtype == np.float32
        assert info['img_labels'].shape == (6, )
        assert info['img_labels'][0] == 1
        np.testing.assert_array_equal(info['img_labels'][1:], table[img_id])
        assert info['num_classes'] == 6
    # toy classes are not a VOC subset: no remapping of mask ids
    assert ds.label_map is None
    assert ds.metainfo['classes'][1] == 'disc'


def test_voc_subset_keeps_mmseg_label_map(toy_root, toy_cfg):
    ds = DATASETS.build(
        toy_cfg('val', img_labels=None,
                metainfo=dict(classes=('background', 'cat', 'dog'))))
    assert ds.label_map[0] == 0 and ds.label_map[8] == 1  # cat
    assert ds.label_map[1] == 255  # aeroplane dropped


def test_no_labels_and_mask_labels(toy_cfg):
    ds = DATASETS.build(toy_cfg('val', img_labels=None))
    info = ds.get_data_info(0)
    assert 'img_labels' not in info and info['img_labels_source'] is None
    ds = DATASETS.build(toy_cfg('val', img_labels='mask'))
    assert ds.get_data_info(0)['img_labels_source'] == 'mask'


def test_pseudo_label_dir_and_superpixel_prefix(toy_cfg, toy_root):
    ds = DATASETS.build(
        toy_cfg(
            'train',
            data_prefix=dict(
                img_path='JPEGImages',
                seg_map_path='/abs/pseudo',
                superpixel_path='superpixels/fh')))
    info = ds.get_data_info(0)
    assert info['seg_map_path'] == '/abs/pseudo/' + info['img_id'] + '.png'
    assert info['superpixel_path'] == osp.join(toy_root, 'superpixels/fh',
                                               info['img_id'] + '.png')


def test_list_with_path_pairs(toy_root, toy_cfg, tmp_path):
    lst = tmp_path / 'pairs.txt'
    lst.write_text('/JPEGImages/toy_000000.jpg '
                   '/SegmentationClassAug/toy_000000.png\n\n')
    ds = DATASETS.build(toy_cfg(ann_file=str(lst)))
    assert len(ds) == 1 and ds.get_data_info(0)['img_id'] == 'toy_000000'


def test_id_absent_from_label_file(toy_root, toy_cfg, tmp_path):
    path = tmp_path / 'labels.npy'
    table = dict(load_cls_labels(osp.join(toy_root, 'cls_labels.npy')))
    del table['toy_000002']
    np.save(path, table, allow_pickle=True)
    with pytest.raises(KeyError, match=r"'toy_000002'.*labels\.npy"):
        DATASETS.build(toy_cfg(img_labels_file=str(path)))


def test_label_length_mismatch(toy_root, toy_cfg, tmp_path):
    path = tmp_path / 'labels.npy'
    np.save(path, {f'toy_{i:06d}': np.ones(20, np.float32)
                   for i in range(10)}, allow_pickle=True)
    with pytest.raises(ValueError, match=r'20 entries; expected 5'):
        DATASETS.build(toy_cfg(img_labels_file=str(path)))


def test_label_vector_with_background_entry(toy_root, toy_cfg, tmp_path):
    path = tmp_path / 'labels.npy'
    np.save(path, {f'toy_{i:06d}': np.array([0, 1, 0, 0, 0, 1], np.float32)
                   for i in range(10)}, allow_pickle=True)
    ds = DATASETS.build(toy_cfg(img_labels_file=str(path)))
    np.testing.assert_array_equal(ds.get_data_info(0)['img_labels'],
                                  [1, 1, 0, 0, 0, 1])


@pytest.mark.parametrize('policy', ['skip', 'error', 'keep'])
def test_all_zero_label_vector(toy_root, toy_cfg, tmp_path, policy):
    path = tmp_path / 'labels.npy'
    table = dict(load_cls_labels(osp.join(toy_root, 'cls_labels.npy')))
    table['toy_000001'] = np.zeros(5, np.float32)
    np.save(path, table, allow_pickle=True)
    cfg = toy_cfg(img_labels_file=str(path), empty_labels=policy)
    if policy == 'error':
        with pytest.raises(ValueError, match=r"'toy_000001'.*all-zero"):
            DATASETS.build(cfg)
        return
    if policy == 'skip':
        with pytest.warns(UserWarning, match=r'skipped 1 image.*toy_000001'):
            ds = DATASETS.build(cfg)
        assert len(ds) == 5 and ds.skipped_img_ids == ['toy_000001']
    else:
        ds = DATASETS.build(cfg)
        assert len(ds) == 6
        np.testing.assert_array_equal(ds.get_data_info(1)['img_labels'],
                                      [1, 0, 0, 0, 0, 0])


def test_bad_arguments_and_files(toy_cfg, tmp_path):
    with pytest.raises(ValueError, match='img_labels must be one of'):
        DATASETS.build(toy_cfg(img_labels='xml'))
    with pytest.raises(ValueError, match='empty_labels must be one of'):
        DATASETS.build(toy_cfg(empty_labels='drop'))
    with pytest.raises(FileNotFoundError, match='nothere.npy'):
        DATASETS.build(toy_cfg(img_labels_file=str(tmp_path / 'nothere.npy')))
    with pytest.raises(FileNotFoundError, match='image list.*nolist.txt'):
        DATASETS.build(toy_cfg(ann_file=str(tmp_path / 'nolist.txt')))
    bad = tmp_path / 'bad.npy'
    np.save(bad, np.zeros(3))
    with pytest.raises(ValueError, match='must hold a dict'):
        DATASETS.build(toy_cfg(img_labels_file=str(bad)))


def test_coco_weak_dataset(tmp_path):
    root = tmp_path / 'coco'
    (root / 'ImageSets').mkdir(parents=True)
    (root / 'ImageSets' / 'val.txt').write_text('COCO_val2014_000000000042\n')
    vec = np.zeros(80, np.float32)
    vec[[0, 79]] = 1  # person, toothbrush
    np.save(root / 'cls_labels.npy', {'COCO_val2014_000000000042': vec},
            allow_pickle=True)
    ds = DATASETS.build(
        dict(
            type='COCOWeakDataset',
            data_root=str(root),
            ann_file='ImageSets/val.txt',
            data_prefix=dict(
                img_path='val2014', seg_map_path='SegmentationClass/val2014'),
            check_img_files=False,  # no image files in this test
            pipeline=[]))
    assert isinstance(ds, COCOWeakDataset)
    assert ds.num_classes == 81 and len(ds.metainfo['palette']) == 81
    assert ds.metainfo['classes'][1] == 'person'
    assert ds.metainfo['classes'][80] == 'toothbrush'
    labels = ds.get_data_info(0)['img_labels']
    assert labels.shape == (81, ) and np.flatnonzero(labels).tolist() == [
        0, 1, 80
    ]
    assert ds.get_data_info(0)['img_path'] == os.path.join(
        str(root), 'val2014', 'COCO_val2014_000000000042.jpg')


def test_base_configs_build_on_toy(toy_root):
    """toy_weak.py's three dataloaders build, load and pack a sample."""
    from mmengine.config import Config
    from wsss_mmseg.models.utils import get_img_labels
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                 'datasets', 'toy_weak.py'))
    for key, has_labels, has_mask in (('train_dataloader', True, False),
                                      ('val_dataloader', False, True),
                                      ('pseudo_label_dataloader', True,
                                       True)):
        ds_cfg = cfg[key].dataset
        ds_cfg.data_root = toy_root
        ds = DATASETS.build(ds_cfg)
        sample = ds[0]
        assert tuple(sample['inputs'].shape) == (3, 64, 64)
        ds_sample = sample['data_samples']
        assert ('gt_sem_seg' in ds_sample) == has_mask
        labels = get_img_labels([ds_sample])
        assert (labels is not None) == has_labels
        if has_labels:
            assert labels.shape == (1, 6) and labels[0, 0] == 1
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.val_evaluator.type == 'IoUMetric'


REQUIRED_KEYS = ('dataset_type', 'data_root', 'train_pipeline',
                 'test_pipeline', 'tta_pipeline', 'train_dataloader',
                 'val_dataloader', 'test_dataloader', 'val_evaluator',
                 'test_evaluator', 'pseudo_label_dataloader')


@pytest.mark.parametrize('name', ['toy_weak', 'voc_weak', 'coco_weak'])
def test_base_config_contract(name):
    from mmengine.config import Config
    from wsss_mmseg.registry import TRANSFORMS
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                 'datasets', name + '.py'))
    for key in REQUIRED_KEYS:
        assert key in cfg, f'{name}.py lacks {key}'
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    train = cfg.train_dataloader.dataset
    assert train.img_labels == 'file'
    assert 'LoadImageLevelLabels' in [t.type for t in train.pipeline]
    assert cfg.val_dataloader.dataset.img_labels is None
    pseudo = cfg.pseudo_label_dataloader.dataset
    assert pseudo.img_labels == 'file' and 'seg_map_path' in pseudo.data_prefix
    types = [t.type for t in pseudo.pipeline]
    assert 'LoadAnnotations' in types and 'LoadImageLevelLabels' in types
    assert types[-1] == 'PackWeakSegInputs'
    for key in ('train_dataloader', 'val_dataloader',
                'pseudo_label_dataloader'):
        for t in cfg[key].dataset.pipeline:
            TRANSFORMS.build(t)
    DATASETS.get(cfg.dataset_type)


def test_toy_tta_pipeline(toy_root):
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                 'datasets', 'toy_weak.py'))
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = toy_root
    ds_cfg.pipeline = cfg.tta_pipeline
    sample = DATASETS.build(ds_cfg)[0]
    assert len(sample['inputs']) == 6  # 3 scales x 2 flips
    assert sorted({x.shape[-1] for x in sample['inputs']}) == [48, 64, 80]


def test_missing_images_fail_at_construction(toy_root, toy_cfg, tmp_path):
    root = _copy(toy_root, tmp_path)
    os.remove(osp.join(root, 'JPEGImages', 'toy_000003.jpg'))
    with pytest.raises(FileNotFoundError,
                       match=r"1 of 6 images listed in .*train_aug\.txt are "
                       r"missing, e\.g\. \['.*toy_000003\.jpg'\]"):
        DATASETS.build(toy_cfg(root=root))
    ds = DATASETS.build(toy_cfg(root=root, check_img_files=False))
    assert len(ds) == 6
