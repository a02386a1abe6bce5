"""The toy dataset generator: layout, determinism, stamp, label file."""
import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

SMALL = dict(seed=1, num_train_aug=8, num_train=3, num_val=4, size=64)


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.startswith('.toy_stamp') or name == 'meta.json':
                continue  # hold the generation time
            h.update(name.encode())
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


@pytest.fixture(scope='module')
def toy(load_tool, tmp_path_factory):
    mod = load_tool('make_toy_dataset')
    root = str(tmp_path_factory.mktemp('toy') / 'toy')
    summary = mod.make_toy_dataset(root, **SMALL)
    return mod, root, summary


def test_voc_layout(toy):
    mod, root, summary = toy
    sets = osp.join(root, 'ImageSets', 'Segmentation')
    lists = {
        s: open(osp.join(sets, s + '.txt')).read().split()
        for s in ('train_aug', 'train', 'val')
    }
    assert len(lists['train_aug']) == 8 and len(lists['val']) == 4
    assert lists['train'] == lists['train_aug'][:3]
    assert not set(lists['val']) & set(lists['train_aug'])
    for img_id in lists['train_aug'] + lists['val']:
        img = Image.open(osp.join(root, 'JPEGImages', img_id + '.jpg'))
        assert img.format == 'JPEG' and img.mode == 'RGB'
        assert img.size == (64, 64)
        png = Image.open(osp.join(root, 'SegmentationClass', img_id + '.png'))
        assert png.mode == 'P'
        pal = np.array(png.getpalette()[:6 * 3]).reshape(6, 3)
        np.testing.assert_array_equal(pal, mod.TOY_PALETTE)
        mask = np.array(png)
        assert set(np.unique(mask)) <= set(range(6)) | {255}
        assert (mask == 255).any(), 'object borders are void like VOC'
    classes = open(osp.join(root, 'classes.txt')).read().split()
    assert tuple(classes) == mod.TOY_CLASSES and len(classes) == 6
    meta = json.load(open(osp.join(root, 'meta.json')))
    assert meta['splits'] == dict(train_aug=8, train=3, val=4)
    assert summary['skipped'] is False


def test_cls_labels_standard_format(toy):
    _, root, _ = toy
    table = np.load(osp.join(root, 'cls_labels.npy'), allow_pickle=True)
    table = table.item()
    assert isinstance(table, dict) and len(table) == 12
    for vec in table.values():
        assert vec.dtype == np.float32 and vec.shape == (5, )
        assert 1 <= vec.sum() <= 4


def test_labels_from_masks_equal_generator_file(toy, load_tool, tmp_path):
    """make_cls_labels --source mask reproduces the generator's file."""
    _, root, _ = toy
    conv = load_tool('make_cls_labels')
    out = str(tmp_path / 'derived.npy')
    conv.main([root, '--splits', 'train_aug', 'val', '--source', 'mask',
               '--seg-dir', 'SegmentationClass', '--classes',
               osp.join(root, 'classes.txt'), '--out', out])
    derived = np.load(out, allow_pickle=True).item()
    original = np.load(osp.join(root, 'cls_labels.npy'),
                       allow_pickle=True).item()
    assert derived.keys() == original.keys()
    for k in original:
        np.testing.assert_array_equal(derived[k], original[k])


def test_deterministic_and_seed_dependent(toy, tmp_path):
    mod, root, _ = toy
    again = str(tmp_path / 'again')
    mod.make_toy_dataset(again, **SMALL)
    assert _digest(again) == _digest(root)
    other = str(tmp_path / 'other')
    mod.make_toy_dataset(other, **dict(SMALL, seed=2))
    assert _digest(other) != _digest(root)


def test_stamp_skips_and_param_change_regenerates(load_tool, tmp_path):
    mod = load_tool('make_toy_dataset')
    root = str(tmp_path / 'toy')
    mod.make_toy_dataset(root, **SMALL)
    jpg = osp.join(root, 'JPEGImages', 'toy_000000.jpg')
    mtime = os.stat(jpg).st_mtime_ns
    assert mod.make_toy_dataset(root, **SMALL)['skipped'] is True
    assert os.stat(jpg).st_mtime_ns == mtime
    # fewer images: regenerated, stale files of the larger run removed
    summary = mod.make_toy_dataset(root, **dict(SMALL, num_train_aug=5))
    assert summary['skipped'] is False
    assert len(os.listdir(osp.join(root, 'JPEGImages'))) == 9
    assert not any(n.startswith('.tmp_') for n in os.listdir(root))
    with pytest.raises(ValueError, match='num_train must be in'):
        mod.make_toy_dataset(root, **dict(SMALL, num_train=20))


def test_cli(load_tool, tmp_path, capsys):
    mod = load_tool('make_toy_dataset')
    out = str(tmp_path / 'cli')
    mod.main(['--out-dir', out, '--seed', '4', '--num-train-aug', '3',
              '--num-train', '2', '--num-val', '2', '--size', '48'])
    assert len(os.listdir(osp.join(out, 'SegmentationClass'))) == 5
    assert '"train_aug": 3' in capsys.readouterr().out


def test_objects_visible_and_varied(load_tool):
    """Every kept object keeps a visible interior; 1-4 objects per image."""
    mod = load_tool('make_toy_dataset')
    counts = []
    for i in range(30):
        rng = np.random.default_rng([0, i])
        img, mask = mod.render_toy_sample(rng, size=64, min_visible=20)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        labels = mod.labels_from_mask(mask, 5)
        counts.append(labels.sum())
        for c in np.flatnonzero(labels) + 1:
            assert (mask == c).sum() >= 20
        # void band only on object outlines: never inside pure background
        assert (mask == 255).sum() < (mask != 0).sum()
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1


@pytest.mark.slow
def test_default_dataset_labels_from_masks(load_tool, tmp_path):
    """The default 600-image set: masks -> make_cls_labels == the file."""
    mod = load_tool('make_toy_dataset')
    root = str(tmp_path / 'toy')
    summary = mod.make_toy_dataset(root)
    assert summary['splits'] == dict(train_aug=480, train=120, val=120)
    per_class = summary['images_per_class']
    assert len(per_class) == 5 and min(per_class.values()) > 150
    assert 0.1 < summary['pixel_fraction']['foreground'] < 0.4
    derived = load_tool('make_cls_labels').make_cls_labels(
        root, ['train_aug', 'val'], source='mask',
        seg_dir='SegmentationClass', classes=mod.TOY_CLASSES)
    original = np.load(osp.join(root, 'cls_labels.npy'),
                       allow_pickle=True).item()
    assert derived.keys() == original.keys() and len(original) == 600
    for k in original:
        np.testing.assert_array_equal(derived[k], original[k])
