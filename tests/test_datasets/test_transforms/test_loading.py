"""Checked loaders, LoadImageLevelLabels and LoadSuperpixels."""
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from wsss_mmseg.datasets.transforms import (CheckedLoadAnnotations,
                                            CheckedLoadImageFromFile,
                                            LoadImageLevelLabels,
                                            LoadSuperpixels)
from wsss_mmseg.registry import DATASETS, TRANSFORMS


@pytest.fixture
def toy_copy(toy_root, tmp_path):
    dst = str(tmp_path / 'toy')
    shutil.copytree(toy_root, dst)
    return dst


def _info(root, img_id='toy_000000', num_classes=6, **extra):
    info = dict(
        img_path=osp.join(root, 'JPEGImages', img_id + '.jpg'),
        seg_map_path=osp.join(root, 'SegmentationClass', img_id + '.png'),
        img_id=img_id, data_root=root, num_classes=num_classes,
        reduce_zero_label=False, label_map=None, seg_fields=[])
    info.update(extra)
    return info


def _load(info, *transforms):
    for t in transforms:
        info = t(info)
    return info


def test_stock_names_resolve_to_checked_loaders():
    assert TRANSFORMS.get('LoadImageFromFile') is CheckedLoadImageFromFile
    assert TRANSFORMS.get('LoadAnnotations') is CheckedLoadAnnotations
    t = TRANSFORMS.build(dict(type='LoadAnnotations'))
    assert isinstance(t, CheckedLoadAnnotations)


def test_checked_loaders_match_stock(toy_root):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    ours = _load(_info(toy_root), CheckedLoadImageFromFile(),
                 CheckedLoadAnnotations())
    stock = _load(_info(toy_root), LoadImageFromFile(), LoadAnnotations())
    np.testing.assert_array_equal(ours['img'], stock['img'])
    np.testing.assert_array_equal(ours['gt_seg_map'], stock['gt_seg_map'])
    assert ours['seg_fields'] == ['gt_seg_map']
    assert set(np.unique(ours['gt_seg_map'])) <= set(range(6)) | {255}


def test_missing_image(toy_copy):
    info = _info(toy_copy, img_id='toy_999999')
    with pytest.raises(FileNotFoundError,
                       match=r'image file not found: .*toy_999999\.jpg'):
        CheckedLoadImageFromFile()(info)


def test_corrupt_jpeg(toy_copy):
    path = osp.join(toy_copy, 'JPEGImages', 'toy_000001.jpg')
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:  # truncated download
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r'corrupt image .*toy_000001\.jpg'):
        CheckedLoadImageFromFile()(_info(toy_copy, 'toy_000001'))
    with open(path, 'wb') as f:  # not an image at all
        f.write(b'<html>not found</html>')
    with pytest.raises(ValueError, match=r'corrupt image .*toy_000001\.jpg'):
        CheckedLoadImageFromFile()(_info(toy_copy, 'toy_000001'))
    with open(path, 'wb') as f:  # JPEG markers but garbage inside
        f.write(b'\xff\xd8' + b'\x00' * 100 + b'\xff\xd9')
    with pytest.raises(ValueError, match=r'corrupt image .*toy_000001\.jpg'):
        CheckedLoadImageFromFile()(_info(toy_copy, 'toy_000001'))
    # ignore_empty keeps mmcv's meaning: the sample is dropped
    assert CheckedLoadImageFromFile(ignore_empty=True)(
        _info(toy_copy, 'toy_000001')) is None


def test_missing_mask(toy_copy):
    info = CheckedLoadImageFromFile()(_info(toy_copy))
    info['seg_map_path'] = osp.join(toy_copy, 'nowhere', 'toy_000000.png')
    with pytest.raises(FileNotFoundError,
                       match=r'mask file not found: .*nowhere/toy_000000'):
        CheckedLoadAnnotations()(info)


def test_mask_image_size_mismatch(toy_copy):
    path = osp.join(toy_copy, 'SegmentationClass', 'toy_000000.png')
    Image.fromarray(np.zeros((32, 48), np.uint8), 'L').save(path)
    info = CheckedLoadImageFromFile()(_info(toy_copy))
    with pytest.raises(ValueError,
                       match=r'mask .*toy_000000\.png is 32x48.*image '
                       r'.*toy_000000\.jpg is 64x64'):
        CheckedLoadAnnotations()(info)


def test_class_id_out_of_range(toy_copy):
    path = osp.join(toy_copy, 'SegmentationClass', 'toy_000000.png')
    mask = np.zeros((64, 64), np.uint8)
    mask[:4] = 7
    mask[-4:] = 255  # void is fine
    Image.fromarray(mask, 'L').save(path)
    info = CheckedLoadImageFromFile()(_info(toy_copy))
    with pytest.raises(ValueError,
                       match=r'toy_000000\.png holds class id\(s\) \[7\] '
                       r'outside 0\.\.5'):
        CheckedLoadAnnotations()(dict(info))
    # explicit num_classes wins over the sample's
    out = CheckedLoadAnnotations(num_classes=8)(dict(info))
    assert out['gt_seg_map'].max() == 255
    with pytest.raises(ValueError, match=r'class id\(s\) \[7\]'):
        LoadImageLevelLabels(from_mask=True)(dict(info))


def test_image_labels_from_file_and_mask(toy_root):
    from wsss_mmseg.datasets import load_cls_labels
    table = load_cls_labels(osp.join(toy_root, 'cls_labels.npy'))
    for img_id in ('toy_000000', 'toy_000004'):
        file_labels = np.concatenate([[1.0], table[img_id]])
        info = _info(toy_root, img_id, img_labels=file_labels.copy(),
                     img_labels_source='file')
        out = LoadImageLevelLabels()(dict(info))
        assert out['img_labels'].dtype == np.float32
        np.testing.assert_array_equal(out['img_labels'], file_labels)
        # derived from the mask file (not loaded yet) ...
        derived = LoadImageLevelLabels(from_mask=True)(dict(info))
        np.testing.assert_array_equal(derived['img_labels'], file_labels)
        # ... and from the loaded gt_seg_map (dataset setting 'mask')
        info.pop('img_labels')
        info['img_labels_source'] = 'mask'
        loaded = _load(info, CheckedLoadImageFromFile(),
                       CheckedLoadAnnotations(), LoadImageLevelLabels())
        np.testing.assert_array_equal(loaded['img_labels'], file_labels)


def test_image_labels_errors(toy_copy):
    info = _info(toy_copy, img_labels_source=None)
    with pytest.raises(KeyError, match=r"no image-level labels for .*"
                       r"toy_000000\.jpg.*img_labels=None"):
        LoadImageLevelLabels()(dict(info))
    bad = _info(toy_copy, img_labels=np.ones(4, np.float32))
    with pytest.raises(ValueError, match='have 4 entries, expected 6'):
        LoadImageLevelLabels()(bad)
    # a mask with no object class
    path = osp.join(toy_copy, 'SegmentationClass', 'toy_000000.png')
    Image.fromarray(np.zeros((64, 64), np.uint8), 'L').save(path)
    with pytest.raises(ValueError, match=r'toy_000000\.png contains no '
                       'object class'):
        LoadImageLevelLabels(from_mask=True)(_info(toy_copy))
    out = LoadImageLevelLabels(from_mask=True, allow_empty=True)(
        _info(toy_copy))
    np.testing.assert_array_equal(out['img_labels'], [1, 0, 0, 0, 0, 0])
    no_nc = _info(toy_copy)
    no_nc.pop('num_classes')
    with pytest.raises(KeyError, match='needs num_classes'):
        LoadImageLevelLabels(from_mask=True)(no_nc)


def test_dataset_mask_labels_through_pipeline(toy_root, toy_cfg):
    from wsss_mmseg.datasets import load_cls_labels
    table = load_cls_labels(osp.join(toy_root, 'cls_labels.npy'))
    ds = DATASETS.build(
        toy_cfg('val', img_labels='mask', pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadImageLevelLabels'),
            dict(type='RandomCrop', crop_size=(16, 16)),
            dict(type='PackWeakSegInputs')
        ]))
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        img_id = sample.metainfo['img_id']
        np.testing.assert_array_equal(sample.gt_img_labels.numpy()[1:],
                                      table[img_id])


# ---------------------------------------------------------------- superpixels
def _write_sp(root, img_id, sp, suffix='.png', folder='superpixels/fh'):
    d = osp.join(root, folder)
    import os
    os.makedirs(d, exist_ok=True)
    path = osp.join(d, img_id + suffix)
    if suffix == '.png':
        Image.fromarray(sp.astype(np.uint16)).save(path)
    else:
        np.save(path, sp.astype(np.int32))
    return path


def _grid_sp(h=64, w=64, cell=8):
    ys, xs = np.mgrid[0:h, 0:w]
    return (ys // cell) * (w // cell) + xs // cell


@pytest.mark.parametrize('suffix', ['.png', '.npy'])
def test_load_superpixels(toy_copy, suffix):
    sp = _grid_sp()
    path = _write_sp(toy_copy, 'toy_000000', sp, suffix)
    info = CheckedLoadImageFromFile()(_info(toy_copy))
    # by superpixel_dir (relative to data_root), suffix found automatically
    out = LoadSuperpixels(superpixel_dir='superpixels/fh')(dict(info))
    assert out['gt_superpixels'].dtype == np.int32
    np.testing.assert_array_equal(out['gt_superpixels'], sp)
    assert 'gt_superpixels' in out['seg_fields']
    # by the dataset's superpixel_path
    out = LoadSuperpixels()(dict(info, superpixel_path=path, seg_fields=[]))
    np.testing.assert_array_equal(out['gt_superpixels'], sp)


def test_superpixel_errors(toy_copy):
    info = CheckedLoadImageFromFile()(_info(toy_copy))
    with pytest.raises(FileNotFoundError, match=r'superpixel file not found'
                       r'.*toy_000000\.png'):
        LoadSuperpixels(superpixel_dir='superpixels/none')(dict(info))
    with pytest.raises(KeyError, match='no superpixel_path'):
        LoadSuperpixels()(dict(info))
    _write_sp(toy_copy, 'toy_000000', _grid_sp(32, 64))
    with pytest.raises(ValueError, match=r'superpixel map .* is 32x64.*'
                       r'toy_000000\.jpg is 64x64'):
        LoadSuperpixels(superpixel_dir='superpixels/fh')(dict(info))
    gapped = _grid_sp()
    gapped[gapped == 5] = 6
    _write_sp(toy_copy, 'toy_000000', gapped)
    with pytest.raises(ValueError, match=r'contiguous ids 0\.\.N-1.*'
                       r'missing ids \[5\]'):
        LoadSuperpixels(superpixel_dir='superpixels/fh')(dict(info))
    _write_sp(toy_copy, 'toy_000000', _grid_sp() + 1)
    with pytest.raises(ValueError, match='found min 1'):
        LoadSuperpixels(superpixel_dir='superpixels/fh')(dict(info))


@pytest.mark.parametrize('transform', [
    dict(type='RandomFlip', prob=1.0, direction='horizontal'),
    dict(type='RandomFlip', prob=1.0, direction='vertical'),
    dict(type='RandomCrop', crop_size=(40, 24)),
    dict(type='Resize', scale=(96, 80), keep_ratio=False),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 1.5),
         keep_ratio=True),
    dict(type='SquareResize', size=48),
    dict(type='RandomSquareResize', sizes=[32, 80]),
    dict(type='PadToSquare'),
])
def test_superpixels_stay_aligned(toy_copy, transform):
    """Superpixels painted from the mask follow it through mmseg's and our
    geometric transforms (they act on seg_fields)."""
    info = _load(_info(toy_copy), CheckedLoadImageFromFile(),
                 CheckedLoadAnnotations())
    seg = info['gt_seg_map']
    # one superpixel per label value: the map is a relabelled mask
    values, sp = np.unique(seg, return_inverse=True)
    sp = sp.reshape(seg.shape)
    _write_sp(toy_copy, 'toy_000000', sp)
    info = LoadSuperpixels(superpixel_dir='superpixels/fh')(info)
    out = TRANSFORMS.build(transform)(info)
    seg_out, sp_out = out['gt_seg_map'], out['gt_superpixels']
    assert seg_out.shape == sp_out.shape == out['img'].shape[:2]
    inside = sp_out < len(values)  # PadToSquare adds one new id
    np.testing.assert_array_equal(values[sp_out[inside]], seg_out[inside])
    if transform['type'] == 'PadToSquare':
        assert inside.all()  # already square: nothing padded


def test_jpeg_with_trailing_bytes_is_accepted(toy_copy):
    path = osp.join(toy_copy, 'JPEGImages', 'toy_000002.jpg')
    with open(path, 'ab') as f:
        f.write(b'\x00' * 200)  # some cameras append data after the image
    out = CheckedLoadImageFromFile()(_info(toy_copy, 'toy_000002'))
    assert out['img'].shape == (64, 64, 3)
