#!/usr/bin/env python
"""Convert COCO 2014 instance annotations into WSSS semantic masks.

WSSS convention (81 classes): 0 = background, 1..80 = COCO's categories
sorted by category id (person = 1, ..., toothbrush = 80), 255 = ignored.
Each image's mask is painted instance by instance in annotation order, so
later instances overwrite earlier ones; crowd annotations are painted 255.
Image-level labels are the categories of the image's non-crowd instances.

Input::

    data/coco2014/
    ├── train2014/*.jpg, val2014/*.jpg
    └── annotations/instances_{train2014,val2014}.json

Output (same root; see ``configs/_base_/datasets/coco_weak.py``)::

    SegmentationClass/{train2014,val2014}/<file stem>.png   uint8 ids
    ImageSets/{train,val}.txt       images with >= 1 labelled object
    cls_labels.npy                  id -> float32[80] (both splits merged)

Mask decoding uses pycocotools when it is installed (``--backend auto``,
default) and otherwise the built-in decoder of this file: COCO's
compressed and uncompressed RLE, and polygons rasterised with OpenCV (which
may differ from pycocotools on boundary pixels). ``--backend pycocotools``
insists on pycocotools and says how to install it if it is missing.

Masks are written atomically; a rerun skips images whose mask exists
(resume) unless ``--overwrite``.

Example::

    python tools/dataset_converters/coco2014.py data/coco2014 --nproc 8
"""
import argparse
import io
import json
import os
import os.path as osp
import tempfile
from collections import defaultdict
from functools import partial
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

IGNORE_INDEX = 255
SPLIT_LISTS = dict(train2014='train', val2014='val')


# --------------------------------------------------------------------------
# mask decoding
# --------------------------------------------------------------------------
def have_pycocotools() -> bool:
    try:
        import pycocotools.mask  # noqa: F401
        return True
    except ImportError:
        return False


def rle_string_to_counts(s: str) -> List[int]:
    """Decode COCO's compressed RLE string into run lengths.

    Each count is stored in 5-bit groups as characters offset by 48, with a
    continuation bit (0x20) and a sign bit on the last group; from the third
    count on, the value is a difference to the count two places earlier.

    Args:
        s (str): The ``counts`` string of a compressed RLE.

    Returns:
        list[int]: Run lengths, starting with a run of zeros.
    """
    counts: List[int] = []
    p = 0
    data = s.encode() if isinstance(s, str) else bytes(s)
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            c = data[p] - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_to_mask(counts: Sequence[int], height: int,
                width: int) -> np.ndarray:
    """Expand run lengths (column-major, zeros first) to a (H, W) bool mask."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != height * width:
        raise ValueError(f'RLE covers {counts.sum()} pixels, expected '
                         f'{height} x {width} = {height * width}')
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int,
                     width: int) -> np.ndarray:
    """Rasterise COCO polygons ([x1, y1, x2, y2, ...] lists), (H, W) bool."""
    import cv2
    mask = np.zeros((height, width), np.uint8)
    shift = 4
    pts = []
    for poly in polygons:
        arr = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(arr) < 3:
            continue
        pts.append(np.round(arr * (1 << shift)).astype(np.int32))
    if pts:
        cv2.fillPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=shift)
    return mask.astype(bool)


def decode_segmentation(segm, height: int, width: int,
                        backend: str = 'builtin') -> np.ndarray:
    """Binary mask of one annotation's ``segmentation`` field, (H, W) bool.

    Args:
        segm (list | dict): Polygons, uncompressed RLE (``counts`` list) or
            compressed RLE (``counts`` string).
        height (int): Image height.
        width (int): Image width.
        backend (str): 'pycocotools' or 'builtin'.
    """
    if backend == 'pycocotools':
        from pycocotools import mask as mask_utils
        if isinstance(segm, list):
            rle = mask_utils.merge(
                mask_utils.frPyObjects(segm, height, width))
        elif isinstance(segm.get('counts'), list):
            rle = mask_utils.frPyObjects(segm, height, width)
        else:
            rle = segm
        return mask_utils.decode(rle).astype(bool)
    if isinstance(segm, list):
        return polygons_to_mask(segm, height, width)
    h, w = segm.get('size', (height, width))
    counts = segm['counts']
    if isinstance(counts, (str, bytes)):
        counts = rle_string_to_counts(counts)
    mask = rle_to_mask(counts, int(h), int(w))
    if mask.shape != (height, width):
        raise ValueError(f'RLE size {mask.shape} differs from the image '
                         f'size {(height, width)}')
    return mask


def resolve_backend(backend: str) -> str:
    if backend == 'auto':
        return 'pycocotools' if have_pycocotools() else 'builtin'
    if backend == 'pycocotools' and not have_pycocotools():
        raise ImportError(
            '--backend pycocotools: pycocotools is not installed; '
            '`pip install pycocotools`, or use --backend builtin (pure '
            'numpy/OpenCV decoder)')
    if backend not in ('pycocotools', 'builtin'):
        raise ValueError(f'backend must be auto, pycocotools or builtin, '
                         f'got {backend!r}')
    return backend


# --------------------------------------------------------------------------
# conversion
# --------------------------------------------------------------------------
def category_index(categories: Sequence[dict]) -> Dict[int, int]:
    """COCO category id -> class id 1..N (sorted by category id)."""
    return {
        c['id']: i + 1
        for i, c in enumerate(sorted(categories, key=lambda c: c['id']))
    }


def instances_to_mask(image: dict, anns: Sequence[dict],
                      cat_to_class: Dict[int, int],
                      backend: str = 'builtin') -> np.ndarray:
    """The WSSS semantic mask of one image, (H, W) uint8.

    Args:
        image (dict): COCO image entry (``height``, ``width``).
        anns (Sequence[dict]): Its annotations, in file order.
        cat_to_class (dict): Category id -> class id.
        backend (str): Mask decoder.
    """
    h, w = int(image['height']), int(image['width'])
    mask = np.zeros((h, w), np.uint8)
    for ann in anns:
        if ann['category_id'] not in cat_to_class:
            raise ValueError(
                f'annotation {ann.get("id")} of image {image["id"]} has '
                f'unknown category id {ann["category_id"]}')
        region = decode_segmentation(ann['segmentation'], h, w, backend)
        value = IGNORE_INDEX if ann.get('iscrowd', 0) else cat_to_class[
            ann['category_id']]
        mask[region] = value
    return mask


def _save_png(path: str, mask: np.ndarray) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mask, np.uint8)).save(
        buf, format='PNG')
    fd, tmp = tempfile.mkstemp(
        dir=osp.dirname(osp.abspath(path)), prefix='.tmp_', suffix='.png')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_bytes(path: str, data: bytes) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=osp.dirname(osp.abspath(path)), prefix='.tmp_')
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


def _convert_image(job: Tuple[dict, List[dict], str],
                   cat_to_class: Dict[int, int], backend: str,
                   overwrite: bool) -> str:
    image, anns, out_path = job
    if not overwrite and osp.isfile(out_path):
        return 'skipped'
    _save_png(out_path, instances_to_mask(image, anns, cat_to_class,
                                          backend))
    return 'written'


def convert_coco_split(coco_root: str,
                       split: str = 'train2014',
                       ann_file: Optional[str] = None,
                       backend: str = 'auto',
                       nproc: int = 1,
                       overwrite: bool = False) -> dict:
    """Convert one split; update the list file and ``cls_labels.npy``.

    Args:
        coco_root (str): COCO 2014 root.
        split (str): 'train2014' or 'val2014' (any name works with
            ``ann_file``).
        ann_file (str, optional): Instances JSON; default
            ``annotations/instances_<split>.json``.
        backend (str): 'auto', 'pycocotools' or 'builtin'.
        nproc (int): Worker processes.
        overwrite (bool): Rewrite existing masks.

    Returns:
        dict: Counts (``images``, ``listed``, ``written``, ``skipped``).
    """
    backend = resolve_backend(backend)
    ann_file = ann_file or osp.join(coco_root, 'annotations',
                                    f'instances_{split}.json')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'COCO instances file not found: {ann_file}')
    with open(ann_file) as f:
        coco = json.load(f)
    for key in ('images', 'annotations', 'categories'):
        if key not in coco:
            raise ValueError(f'{ann_file} is not a COCO instances file: no '
                             f'{key!r} entry')
    cat_to_class = category_index(coco['categories'])
    num_fg = len(cat_to_class)
    by_image: Dict[int, List[dict]] = defaultdict(list)
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)

    out_dir = osp.join(coco_root, 'SegmentationClass', split)
    os.makedirs(out_dir, exist_ok=True)
    jobs, listed = [], []
    labels: Dict[str, np.ndarray] = {}
    for image in sorted(coco['images'], key=lambda im: im['file_name']):
        stem = osp.splitext(image['file_name'])[0]
        anns = by_image.get(image['id'], [])
        vec = np.zeros(num_fg, np.float32)
        for ann in anns:
            if not ann.get('iscrowd', 0):
                if ann['category_id'] not in cat_to_class:
                    raise ValueError(
                        f'{ann_file}: annotation {ann.get("id")} has unknown '
                        f'category id {ann["category_id"]}')
                vec[cat_to_class[ann['category_id']] - 1] = 1.0
        if vec.any():
            listed.append(stem)
            labels[stem] = vec
        jobs.append((image, anns, osp.join(out_dir, stem + '.png')))
    work = partial(_convert_image, cat_to_class=cat_to_class,
                   backend=backend, overwrite=overwrite)
    if nproc > 1:
        with Pool(nproc) as pool:
            status = pool.map(work, jobs, chunksize=32)
    else:
        status = [work(j) for j in jobs]

    list_name = SPLIT_LISTS.get(split, split)
    _atomic_bytes(
        osp.join(coco_root, 'ImageSets', list_name + '.txt'),
        ''.join(s + '\n' for s in listed).encode())
    label_path = osp.join(coco_root, 'cls_labels.npy')
    merged: Dict[str, np.ndarray] = {}
    if osp.isfile(label_path):
        merged = dict(np.load(label_path, allow_pickle=True).item())
    merged.update(labels)
    buf = io.BytesIO()
    np.save(buf, merged, allow_pickle=True)
    _atomic_bytes(label_path, buf.getvalue())
    return dict(
        images=len(jobs), listed=len(listed),
        written=status.count('written'), skipped=status.count('skipped'),
        backend=backend)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='COCO 2014 instances -> 81-class WSSS masks, lists and '
        'cls_labels.npy')
    parser.add_argument('coco_root')
    parser.add_argument('--splits', nargs='+',
                        default=['train2014', 'val2014'])
    parser.add_argument('--backend', default='auto',
                        choices=('auto', 'pycocotools', 'builtin'))
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    for split in args.splits:
        counts = convert_coco_split(
            args.coco_root, split, backend=args.backend, nproc=args.nproc,
            overwrite=args.overwrite)
        print(split, counts)


if __name__ == '__main__':
    main()
