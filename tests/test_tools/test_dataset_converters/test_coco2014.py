"""COCO 2014 instances -> 81-class-style masks, lists and cls labels."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image


def _encode_rle_string(counts):
    """COCO's compressed RLE string (independent writer for the test)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return ''.join(out)


def _mask_to_counts(mask):
    flat = mask.T.ravel().astype(np.int8)  # column-major like COCO
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [2]])))
    runs = np.diff(np.concatenate([[0], change]))
    return runs.tolist()


def test_rle_decoding_round_trip(load_tool):
    mod = load_tool('coco2014')
    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random((13, 9)) > 0.6
        mask[0, 0] = False
        counts = _mask_to_counts(mask)
        assert sum(counts) == mask.size
        decoded = mod.rle_to_mask(counts, 13, 9)
        np.testing.assert_array_equal(decoded, mask)
        s = _encode_rle_string(counts)
        assert mod.rle_string_to_counts(s) == counts
        np.testing.assert_array_equal(
            mod.decode_segmentation({'counts': s, 'size': [13, 9]}, 13, 9),
            mask)
    # column-major order: a first run of 2 zeros then 3 ones fills column 0
    m = mod.rle_to_mask([2, 3, 15], 5, 4)
    assert m[:, 0].tolist() == [False, False, True, True, True]
    assert not m[:, 1:].any()
    with pytest.raises(ValueError, match='RLE covers 19 pixels'):
        mod.rle_to_mask([2, 3, 14], 5, 4)


def test_polygon_rasterisation(load_tool):
    mod = load_tool('coco2014')
    m = mod.polygons_to_mask([[1, 1, 6, 1, 6, 4, 1, 4]], 8, 10)
    assert m[2:4, 2:6].all()
    assert not m[6:].any() and not m[:, 8:].any()


def _coco(tmp_path):
    root = tmp_path / 'coco2014'
    (root / 'annotations').mkdir(parents=True)
    crowd = np.zeros((8, 10), bool)
    crowd[6:, :3] = True
    rle_mask = np.zeros((6, 5), bool)
    rle_mask[1:4, 1:3] = True
    data = dict(
        images=[
            dict(id=1, file_name='COCO_val2014_000000000001.jpg', height=8,
                 width=10),
            dict(id=2, file_name='COCO_val2014_000000000002.jpg', height=6,
                 width=5),
            dict(id=3, file_name='COCO_val2014_000000000003.jpg', height=4,
                 width=4),
        ],
        categories=[
            dict(id=90, name='toothbrush'),
            dict(id=1, name='person'),
            dict(id=3, name='car'),
        ],
        annotations=[
            # person, then a car overlapping its right part
            dict(id=10, image_id=1, category_id=1, iscrowd=0,
                 segmentation=[[0, 0, 7, 0, 7, 5, 0, 5]]),
            dict(id=11, image_id=1, category_id=3, iscrowd=0,
                 segmentation=[[4, 0, 9, 0, 9, 5, 4, 5]]),
            dict(id=12, image_id=1, category_id=90, iscrowd=1,
                 segmentation=dict(counts=_mask_to_counts(crowd),
                                   size=[8, 10])),
            dict(id=13, image_id=2, category_id=90, iscrowd=0,
                 segmentation=dict(
                     counts=_encode_rle_string(_mask_to_counts(rle_mask)),
                     size=[6, 5])),
        ])
    with open(root / 'annotations' / 'instances_val2014.json', 'w') as f:
        json.dump(data, f)
    return str(root), crowd, rle_mask


def test_convert_split(load_tool, tmp_path):
    mod = load_tool('coco2014')
    root, crowd, rle_mask = _coco(tmp_path)
    counts = mod.convert_coco_split(root, 'val2014', backend='builtin')
    assert counts == dict(images=3, listed=2, written=3, skipped=0,
                          backend='builtin')
    seg = osp.join(root, 'SegmentationClass', 'val2014')
    m1 = np.array(Image.open(osp.join(seg, 'COCO_val2014_000000000001.png')))
    assert m1.shape == (8, 10) and m1.dtype == np.uint8
    assert (m1[1:4, 1:3] == 1).all()  # person (class 1)
    assert (m1[1:4, 5:8] == 2).all()  # car overwrote the person (class 2)
    assert (m1[crowd] == 255).all()  # crowd ignored
    assert (m1[7, 5:] == 0).all()
    m2 = np.array(Image.open(osp.join(seg, 'COCO_val2014_000000000002.png')))
    np.testing.assert_array_equal(m2, np.where(rle_mask, 3, 0))
    m3 = np.array(Image.open(osp.join(seg, 'COCO_val2014_000000000003.png')))
    assert (m3 == 0).all()
    lst = open(osp.join(root, 'ImageSets', 'val.txt')).read().split()
    assert lst == ['COCO_val2014_000000000001', 'COCO_val2014_000000000002']
    table = np.load(osp.join(root, 'cls_labels.npy'), allow_pickle=True)
    table = table.item()
    assert set(table) == set(lst)
    assert table[lst[0]].shape == (3, )  # one entry per category
    assert np.flatnonzero(table[lst[0]]).tolist() == [0, 1]  # crowd: no
    assert np.flatnonzero(table[lst[1]]).tolist() == [2]
    # resume
    assert mod.convert_coco_split(root, 'val2014',
                                  backend='builtin')['skipped'] == 3


def test_backend_and_input_errors(load_tool, tmp_path, monkeypatch):
    mod = load_tool('coco2014')
    monkeypatch.setattr(mod, 'have_pycocotools', lambda: False)
    assert mod.resolve_backend('auto') == 'builtin'
    with pytest.raises(ImportError, match='pip install pycocotools'):
        mod.resolve_backend('pycocotools')
    with pytest.raises(FileNotFoundError, match='instances_train2014.json'):
        mod.convert_coco_split(str(tmp_path), 'train2014')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(images=[])))
    with pytest.raises(ValueError, match="no 'annotations' entry"):
        mod.convert_coco_split(str(tmp_path), 'val2014', ann_file=str(bad))
