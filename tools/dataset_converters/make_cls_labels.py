#!/usr/bin/env python
"""Make an image-level label file (``cls_labels.npy``) for a VOC-layout set.

The output is the standard WSSS format used by PSA, IRN and most VOC code:
``np.save(path, {img_id: float32[num_fg_classes]})`` - a pickled dict with
one multi-hot vector per image over the *foreground* classes (VOC: 20
entries, no background), loaded with
``np.load(path, allow_pickle=True).item()``.

Two sources:

* ``--source xml`` (the standard file): the object names of the VOC
  detection annotations ``Annotations/<id>.xml`` (every ``<object>``,
  including difficult and truncated ones unless ``--skip-difficult``).
* ``--source mask``: the ids present in the segmentation masks
  (``<seg-dir>/<id>.png``) other than 0 (background) and 255 (void).
  This agrees with the XML labels for almost every VOC image.

Examples::

    # standard VOC file: train_aug + val from the XML annotations
    python tools/dataset_converters/make_cls_labels.py \\
        data/VOCdevkit/VOC2012 --splits train_aug val --source xml
    # from SBD-augmented masks
    python tools/dataset_converters/make_cls_labels.py \\
        data/VOCdevkit/VOC2012 --splits train_aug val --source mask \\
        --seg-dir SegmentationClassAug
    # the toy set (its classes.txt gives the class names)
    python tools/dataset_converters/make_cls_labels.py data/toy \\
        --splits train_aug val --source mask --classes data/toy/classes.txt \\
        --out data/toy/cls_labels_from_masks.npy
"""
import argparse
import io
import os
import os.path as osp
import tempfile
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat',
               'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
               'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
               'sofa', 'train', 'tvmonitor')
IGNORE_INDEX = 255


def read_ids(list_file: str) -> List[str]:
    """Image ids of a split file (first token, basename without suffix)."""
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'split file not found: {list_file}')
    ids = []
    with open(list_file) as f:
        for line in f:
            line = line.strip()
            if line:
                ids.append(osp.splitext(osp.basename(line.split()[0]))[0])
    return ids


def read_classes(path: Optional[str]) -> Sequence[str]:
    """Class names (background first) from a one-per-line file, or VOC's."""
    if path is None:
        return VOC_CLASSES
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if len(names) < 2:
        raise ValueError(f'class file {path} must list the background and '
                         f'at least one class, found {names}')
    return tuple(names)


def labels_from_xml(xml_path: str, classes: Sequence[str],
                    skip_difficult: bool = False) -> np.ndarray:
    """Foreground multi-hot labels of one VOC XML annotation.

    Args:
        xml_path (str): ``Annotations/<id>.xml``.
        classes (Sequence[str]): Class names, background first.
        skip_difficult (bool): Ignore objects marked difficult.

    Returns:
        np.ndarray: (len(classes) - 1,) float32.
    """
    if not osp.isfile(xml_path):
        raise FileNotFoundError(f'annotation file not found: {xml_path}')
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'corrupt annotation file {xml_path}: {e}') from e
    index = {name: i for i, name in enumerate(classes)}
    labels = np.zeros(len(classes) - 1, np.float32)
    for obj in root.iter('object'):
        name = (obj.findtext('name') or '').strip()
        if skip_difficult and (obj.findtext('difficult') or '0').strip() \
                == '1':
            continue
        if name not in index or index[name] == 0:
            raise ValueError(
                f'{xml_path}: object name {name!r} is not one of the '
                f'classes {tuple(classes[1:])}')
        labels[index[name] - 1] = 1.0
    return labels


def labels_from_mask_file(png_path: str, num_classes: int) -> np.ndarray:
    """Foreground multi-hot labels of one label PNG (0 and 255 ignored).

    Args:
        png_path (str): Palette or grey PNG of class ids.
        num_classes (int): Classes including the background.

    Returns:
        np.ndarray: (num_classes - 1,) float32.
    """
    if not osp.isfile(png_path):
        raise FileNotFoundError(f'mask file not found: {png_path}')
    with Image.open(png_path) as im:
        mask = np.array(im)
    if mask.ndim != 2:
        raise ValueError(f'mask {png_path} must be a single-channel PNG of '
                         f'class ids, found shape {mask.shape}')
    counts = np.bincount(mask.ravel().astype(np.int64), minlength=256)
    bad = [int(i) for i in np.flatnonzero(counts[num_classes:]) + num_classes
           if i != IGNORE_INDEX]
    if bad:
        raise ValueError(
            f'mask {png_path} holds class id(s) {bad[:10]} outside '
            f'0..{num_classes - 1} (and 255)')
    return (counts[1:num_classes] > 0).astype(np.float32)


def save_cls_labels(path: str, labels: Dict[str, np.ndarray]) -> None:
    """Write the pickled dict atomically (temp file + ``os.replace``)."""
    buf = io.BytesIO()
    np.save(buf, labels, allow_pickle=True)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp_', suffix='.npy')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def make_cls_labels(data_root: str,
                    splits: Sequence[str] = ('train_aug', 'val'),
                    source: str = 'xml',
                    out: Optional[str] = None,
                    classes: Optional[Sequence[str]] = None,
                    seg_dir: str = 'SegmentationClassAug',
                    xml_dir: str = 'Annotations',
                    split_dir: str = 'ImageSets/Segmentation',
                    skip_difficult: bool = False) -> Dict[str, np.ndarray]:
    """Build (and optionally save) the label dict of the given splits.

    Args:
        data_root (str): Dataset root (VOC layout).
        splits (Sequence[str]): Split names under ``split_dir`` (or paths of
            list files).
        source (str): 'xml' or 'mask'.
        out (str, optional): Output ``.npy`` path; not saved if None.
        classes (Sequence[str], optional): Class names, background first;
            default VOC's 21.
        seg_dir (str): Mask folder under ``data_root`` for 'mask'.
        xml_dir (str): Annotation folder under ``data_root`` for 'xml'.
        split_dir (str): Folder of the split lists under ``data_root``.
        skip_difficult (bool): 'xml' only: ignore difficult objects.

    Returns:
        dict[str, np.ndarray]: id -> (num_classes - 1,) float32.
    """
    if source not in ('xml', 'mask'):
        raise ValueError(f"source must be 'xml' or 'mask', got {source!r}")
    classes = tuple(classes or VOC_CLASSES)
    ids: List[str] = []
    for split in splits:
        list_file = split if split.endswith('.txt') else osp.join(
            data_root, split_dir, split + '.txt')
        ids.extend(read_ids(list_file))
    labels: Dict[str, np.ndarray] = {}
    for img_id in dict.fromkeys(ids):  # unique, in order
        if source == 'xml':
            labels[img_id] = labels_from_xml(
                osp.join(data_root, xml_dir, img_id + '.xml'), classes,
                skip_difficult)
        else:
            labels[img_id] = labels_from_mask_file(
                osp.join(data_root, seg_dir, img_id + '.png'), len(classes))
    if out is not None:
        save_cls_labels(out, labels)
    return labels


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Image-level labels (cls_labels.npy) from VOC XML '
        'annotations or from segmentation masks.')
    parser.add_argument('data_root', help='dataset root (VOC layout)')
    parser.add_argument('--splits', nargs='+', default=['train_aug', 'val'],
                        help='split names under ImageSets/Segmentation or '
                        'list files')
    parser.add_argument('--source', choices=('xml', 'mask'), default='xml')
    parser.add_argument('--out', help='default <data_root>/cls_labels.npy')
    parser.add_argument('--classes', help='class file, one name per line, '
                        'background first (default: VOC)')
    parser.add_argument('--seg-dir', default='SegmentationClassAug')
    parser.add_argument('--xml-dir', default='Annotations')
    parser.add_argument('--split-dir', default='ImageSets/Segmentation')
    parser.add_argument('--skip-difficult', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    out = args.out or osp.join(args.data_root, 'cls_labels.npy')
    labels = make_cls_labels(
        args.data_root, args.splits, args.source, out,
        read_classes(args.classes), args.seg_dir, args.xml_dir,
        args.split_dir, args.skip_difficult)
    empty = [k for k, v in labels.items() if not v.any()]
    print(f'wrote {len(labels)} label vectors to {out}'
          + (f'; {len(empty)} all-zero (e.g. {empty[:3]})' if empty else ''))


if __name__ == '__main__':
    main()
