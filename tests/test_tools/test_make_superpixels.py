"""Tests of tools/dataset_converters/make_superpixels.py (SPN cache)."""
import importlib.util
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from skimage import data as skdata

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'dataset_converters', 'make_superpixels.py')


def _load():
    spec = importlib.util.spec_from_file_location('make_superpixels', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # registered so that worker processes can unpickle its functions
    sys.modules['make_superpixels'] = module
    spec.loader.exec_module(module)
    return module


msp = _load()


@pytest.fixture()
def dataset(tmp_path):
    """Three small real photos in a VOC-like layout."""
    root = tmp_path / 'ds'
    (root / 'JPEGImages').mkdir(parents=True)
    (root / 'ImageSets').mkdir()
    photos = dict(astronaut=skdata.astronaut(), chelsea=skdata.chelsea(),
                  coffee=skdata.coffee())
    for name, img in photos.items():
        small = cv2.resize(img, (96, 64), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(root / 'JPEGImages' / f'{name}.jpg'), small[..., ::-1])
    (root / 'ImageSets' / 'split.txt').write_text('astronaut\nchelsea\n')
    return root


@pytest.mark.parametrize('algorithm', ['felzenszwalb', 'slic'])
def test_contiguous_ids_on_real_photo(algorithm):
    img = cv2.resize(skdata.astronaut(), (128, 128))
    params = dict(scale=50, min_size=20) if algorithm == 'felzenszwalb' \
        else dict(n_segments=60)
    labels = msp.compute_superpixels(img, algorithm, **params)
    assert labels.dtype == np.int32 and labels.shape == (128, 128)
    ids = np.unique(labels)
    assert ids[0] == 0 and np.array_equal(ids, np.arange(len(ids)))
    assert len(ids) > 10


def test_relabel_fills_gaps():
    out = msp.relabel_contiguous(np.array([[5, 5, 9], [2, 9, 2]]))
    assert out.tolist() == [[1, 1, 2], [0, 2, 0]]


@pytest.mark.parametrize('fmt', ['png', 'npy'])
def test_generate_resume_and_stamp(dataset, fmt):
    stats = msp.make_superpixels(
        str(dataset), 'sp', split='ImageSets/split.txt', fmt=fmt,
        params=dict(scale=50, min_size=10), progress=False)
    assert stats['done'] == 2 and stats['skipped'] == 0
    files = sorted(os.listdir(dataset / 'sp'))
    assert files == sorted([f'astronaut.{fmt}', f'chelsea.{fmt}',
                            'superpixels.json'])
    sp = msp.load_superpixels(str(dataset / 'sp' / f'chelsea.{fmt}'))
    assert sp.shape == (64, 96)
    assert np.array_equal(np.unique(sp), np.arange(sp.max() + 1))
    # resume: nothing recomputed, existing files untouched
    mtime = os.stat(dataset / 'sp' / f'chelsea.{fmt}').st_mtime_ns
    again = msp.make_superpixels(
        str(dataset), 'sp', split='ImageSets/split.txt', fmt=fmt,
        params=dict(scale=50, min_size=10), progress=False)
    assert again['done'] == 0 and again['skipped'] == 2
    assert os.stat(dataset / 'sp' / f'chelsea.{fmt}').st_mtime_ns == mtime
    # a partially written cache is completed
    os.remove(dataset / 'sp' / f'astronaut.{fmt}')
    third = msp.make_superpixels(
        str(dataset), 'sp', split='ImageSets/split.txt', fmt=fmt,
        params=dict(scale=50, min_size=10), progress=False)
    assert third['done'] == 1
    # other parameters into the same folder are refused
    with pytest.raises(ValueError, match='holds superpixels made with'):
        msp.make_superpixels(str(dataset), 'sp', split='ImageSets/split.txt',
                             fmt=fmt, params=dict(scale=200),
                             progress=False)
    stamp = json.loads((dataset / 'sp' / 'superpixels.json').read_text())
    assert stamp['algorithm'] == 'felzenszwalb'
    assert stamp['params']['scale'] == 50
    assert not [f for f in os.listdir(dataset / 'sp') if '.tmp' in f]


def test_two_workers_match_one(dataset):
    one = msp.make_superpixels(str(dataset), 'one', fmt='npy', workers=1,
                               progress=False)
    two = msp.make_superpixels(str(dataset), 'two', fmt='npy', workers=2,
                               progress=False)
    assert one['done'] == two['done'] == 3
    for name in ('astronaut', 'chelsea', 'coffee'):
        assert np.array_equal(
            np.load(dataset / 'one' / f'{name}.npy'),
            np.load(dataset / 'two' / f'{name}.npy'))


def test_cli_and_errors(dataset, tmp_path):
    msp.main([str(dataset), '--split', 'ImageSets/split.txt', '--algorithm',
              'slic', '--n-segments', '20', '--out-dir', 'slic'])
    assert (dataset / 'slic' / 'chelsea.png').is_file()
    with pytest.raises(ValueError, match='does not apply to slic'):
        msp.main([str(dataset), '--algorithm', 'slic', '--scale', '3'])
    with pytest.raises(FileNotFoundError, match='split file'):
        msp.make_superpixels(str(dataset), split='missing.txt',
                             progress=False)
    with pytest.raises(ValueError, match='one of'):
        msp.compute_superpixels(np.zeros((4, 4, 3), np.uint8), 'watershed')
    with pytest.raises(FileNotFoundError, match='make_superpixels'):
        msp.load_superpixels(str(tmp_path / 'nope.png'))
    (dataset / 'ImageSets' / 'bad.txt').write_text('ghost\n')
    with pytest.raises(FileNotFoundError, match='ghost.jpg'):
        msp.make_superpixels(str(dataset), 'g', split='ImageSets/bad.txt',
                             progress=False)
