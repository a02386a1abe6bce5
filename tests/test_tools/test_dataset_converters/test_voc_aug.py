"""SBD .mat -> SegmentationClassAug + train_aug.txt."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat


def _sbd_mat(path, seg):
    gtcls = np.empty((1, 1), dtype=[('Segmentation', 'O'),
                                    ('Boundaries', 'O'),
                                    ('CategoriesPresent', 'O')])
    gtcls['Segmentation'][0, 0] = seg.astype(np.uint8)
    gtcls['Boundaries'][0, 0] = np.zeros((1, 1))
    gtcls['CategoriesPresent'][0, 0] = np.unique(seg[seg > 0])
    savemat(path, {'GTcls': gtcls})


@pytest.fixture
def voc_sbd(tmp_path):
    voc = tmp_path / 'VOCdevkit' / 'VOC2012'
    sets = voc / 'ImageSets' / 'Segmentation'
    sets.mkdir(parents=True)
    (voc / 'JPEGImages').mkdir()
    (voc / 'SegmentationClass').mkdir()
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    (sbd / 'cls').mkdir(parents=True)
    # VOC: train v1, v2; val v3. SBD: train s1, v1; val s2, v3
    (sets / 'train.txt').write_text('v1\nv2\n')
    (sets / 'val.txt').write_text('v3\n')
    (sbd / 'train.txt').write_text('s1\nv1\n')
    (sbd / 'val.txt').write_text('s2\nv3\n')
    for i, name in enumerate(['s1', 'v1', 's2', 'v3']):
        seg = np.zeros((6, 7), np.uint8)
        seg[:3] = i + 1
        _sbd_mat(str(sbd / 'cls' / f'{name}.mat'), seg)
    for name in ['v1', 'v2', 'v3']:
        m = np.full((6, 7), 15, np.uint8)
        m[0] = 255
        png = Image.frombuffer('P', (7, 6), m.tobytes(), 'raw', 'P', 0, 1)
        png.putpalette([v for i in range(256) for v in (i, 0, 0)])
        png.save(voc / 'SegmentationClass' / f'{name}.png')
    return str(tmp_path / 'VOCdevkit'), str(tmp_path / 'benchmark_RELEASE')


def test_convert(load_tool, voc_sbd):
    mod = load_tool('voc_aug')
    devkit, sbd = voc_sbd
    counts = mod.convert_voc_aug(devkit, sbd)
    voc = osp.join(devkit, 'VOC2012')
    aug = open(osp.join(voc, 'ImageSets/Segmentation/train_aug.txt')).read()
    assert aug.split() == ['s1', 's2', 'v1', 'v2']  # v3 is VOC val
    out = osp.join(voc, 'SegmentationClassAug')
    assert sorted(os.listdir(out)) == ['s1.png', 's2.png', 'v1.png',
                                       'v2.png', 'v3.png']
    s2 = Image.open(osp.join(out, 's2.png'))
    assert s2.mode == 'P'
    s2 = np.array(s2)
    assert s2.shape == (6, 7) and (s2[:3] == 3).all() and (s2[3:] == 0).all()
    # VOC's own mask wins by default (keeps the 255 border)
    v1 = np.array(Image.open(osp.join(out, 'v1.png')))
    assert (v1[0] == 255).all() and (v1[1:] == 15).all()
    assert counts['train_aug'] == 4 and counts['written'] == 5
    # rerun: resume skips, prefer sbd overwrites when asked
    assert mod.convert_voc_aug(devkit, sbd)['skipped'] == 5
    mod.main([devkit, sbd, '--prefer', 'sbd', '--overwrite'])
    v1 = np.array(Image.open(osp.join(out, 'v1.png')))
    assert (v1[:3] == 2).all()


def test_errors(load_tool, voc_sbd, tmp_path):
    mod = load_tool('voc_aug')
    devkit, sbd = voc_sbd
    bad = osp.join(sbd, 'dataset', 'cls', 's1.mat')
    savemat(bad, {'other': np.zeros(3)})
    with pytest.raises(ValueError, match=r's1\.mat is not an SBD class'):
        mod.convert_voc_aug(devkit, sbd)
    with pytest.raises(FileNotFoundError, match='SBD class annotations'):
        mod.convert_voc_aug(devkit, str(tmp_path / 'nothing'))
    os.remove(bad)
    os.remove(osp.join(devkit, 'VOC2012', 'SegmentationClass', 'v2.png'))
    with pytest.raises(FileNotFoundError, match=r"neither.*\['s1', 'v2'\]"):
        mod.convert_voc_aug(devkit, sbd)
