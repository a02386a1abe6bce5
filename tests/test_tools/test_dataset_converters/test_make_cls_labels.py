"""cls labels from VOC XML annotations and from masks."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

XML = """<annotation>
  <filename>{id}.jpg</filename>
  {objects}
</annotation>"""
OBJ = ('<object><name>{name}</name><difficult>{difficult}</difficult>'
       '<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax>'
       '</bndbox></object>')


def _voc(tmp_path, objects):
    root = tmp_path / 'VOC2012'
    (root / 'Annotations').mkdir(parents=True)
    (root / 'SegmentationClass').mkdir()
    sets = root / 'ImageSets' / 'Segmentation'
    sets.mkdir(parents=True)
    for img_id, objs in objects.items():
        body = ''.join(OBJ.format(name=n, difficult=d) for n, d in objs)
        (root / 'Annotations' / f'{img_id}.xml').write_text(
            XML.format(id=img_id, objects=body))
    ids = list(objects)
    (sets / 'train.txt').write_text('\n'.join(ids[:-1]) + '\n')
    (sets / 'val.txt').write_text(ids[-1] + '\n')
    return str(root)


def test_from_xml_standard_format(load_tool, tmp_path):
    mod = load_tool('make_cls_labels')
    root = _voc(tmp_path, {
        '2007_000032': [('aeroplane', 0), ('person', 0), ('person', 1)],
        '2007_000039': [('tvmonitor', 0)],
        '2007_000063': [('dog', 1), ('chair', 0)],
    })
    mod.main([root, '--splits', 'train', 'val'])
    table = np.load(osp.join(root, 'cls_labels.npy'),
                    allow_pickle=True).item()
    assert set(table) == {'2007_000032', '2007_000039', '2007_000063'}
    for v in table.values():
        assert v.dtype == np.float32 and v.shape == (20, )
    assert np.flatnonzero(table['2007_000032']).tolist() == [0, 14]
    assert np.flatnonzero(table['2007_000039']).tolist() == [19]
    assert np.flatnonzero(table['2007_000063']).tolist() == [8, 11]
    skipped = mod.make_cls_labels(root, ['train', 'val'],
                                  skip_difficult=True)
    assert np.flatnonzero(skipped['2007_000063']).tolist() == [8]
    # the dataset reads the file
    from mmengine.registry import init_default_scope
    import wsss_mmseg  # noqa: F401
    from wsss_mmseg.registry import DATASETS
    init_default_scope('wsss_mmseg')
    os.makedirs(osp.join(root, 'JPEGImages'))
    ds = DATASETS.build(dict(
        type='PascalVOCWeakDataset', data_root=root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages'), check_img_files=False,
        pipeline=[]))
    assert np.flatnonzero(ds.get_data_info(0)['img_labels']).tolist() == [
        0, 1, 15
    ]


def test_from_masks(load_tool, tmp_path):
    mod = load_tool('make_cls_labels')
    root = _voc(tmp_path, {'a': [('cat', 0)], 'b': [('dog', 0)]})
    m = np.zeros((8, 8), np.uint8)
    m[:2] = 8
    m[2:4] = 255
    Image.fromarray(m, 'L').save(osp.join(root, 'SegmentationClass',
                                          'a.png'))
    Image.fromarray(np.full((8, 8), 12, np.uint8), 'L').save(
        osp.join(root, 'SegmentationClass', 'b.png'))
    table = mod.make_cls_labels(root, ['train', 'val'], source='mask',
                                seg_dir='SegmentationClass')
    assert np.flatnonzero(table['a']).tolist() == [7]
    assert np.flatnonzero(table['b']).tolist() == [11]
    xml_table = mod.make_cls_labels(root, ['train', 'val'])
    for k in table:
        np.testing.assert_array_equal(table[k], xml_table[k])


def test_errors(load_tool, tmp_path):
    mod = load_tool('make_cls_labels')
    root = _voc(tmp_path, {'a': [('unicorn', 0)], 'b': [('dog', 0)]})
    with pytest.raises(ValueError, match=r"a\.xml: object name 'unicorn'"):
        mod.make_cls_labels(root, ['train'])
    with pytest.raises(FileNotFoundError,
                       match=r'mask file not found.*b\.png'):
        mod.make_cls_labels(root, ['val'], source='mask',
                            seg_dir='SegmentationClass')
    Image.fromarray(np.full((4, 4), 30, np.uint8), 'L').save(
        osp.join(root, 'SegmentationClass', 'b.png'))
    with pytest.raises(ValueError, match=r'b\.png holds class id\(s\) \[30\]'):
        mod.make_cls_labels(root, ['val'], source='mask',
                            seg_dir='SegmentationClass')
    (tmp_path / 'VOC2012' / 'Annotations' / 'b.xml').write_text('<annot')
    with pytest.raises(ValueError, match=r'corrupt annotation file.*b\.xml'):
        mod.make_cls_labels(root, ['val'])
    with pytest.raises(FileNotFoundError, match='split file not found'):
        mod.make_cls_labels(root, ['nosplit'])
