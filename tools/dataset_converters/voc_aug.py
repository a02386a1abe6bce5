#!/usr/bin/env python
"""SBD augmentation of PASCAL VOC 2012 -> ``SegmentationClassAug``.

Input: VOC 2012 (``data/VOCdevkit/VOC2012``) and the Semantic Boundaries
Dataset release (``benchmark_RELEASE/dataset`` with ``cls/<id>.mat`` holding
``GTcls.Segmentation``, plus ``train.txt`` and ``val.txt``). Output, inside
the VOC folder::

    SegmentationClassAug/<id>.png     palette PNG, ids 0..20, 255 = void
    ImageSets/Segmentation/train_aug.txt

``train_aug`` = (SBD train + SBD val + VOC train) minus VOC val: 10,582
images. ``SegmentationClassAug`` gets a mask for every SBD image and, for
every image with an official VOC mask (``SegmentationClass``), that mask
(``--prefer voc``, default; ``--prefer sbd`` keeps SBD's where both exist),
so it covers train_aug, train and val. Files are written atomically; a rerun
skips existing outputs unless ``--overwrite``.

Example::

    python tools/dataset_converters/voc_aug.py data/VOCdevkit \\
        data/VOCdevkit/benchmark_RELEASE --nproc 8
"""
import argparse
import io
import os
import os.path as osp
import tempfile
from functools import partial
from multiprocessing import Pool
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image


def voc_colormap(num: int = 256) -> np.ndarray:
    """PASCAL VOC colour map, (num, 3) uint8."""
    ids = np.arange(num)
    cmap = np.zeros((num, 3), dtype=np.int64)
    for shift in range(8):
        for channel in range(3):
            cmap[:, channel] |= ((ids >> channel) & 1) << (7 - shift)
        ids = ids >> 3
    return cmap.astype(np.uint8)


def save_palette_png(path: str, mask: np.ndarray) -> None:
    """Write a (H, W) uint8 label map as a VOC palette PNG, atomically."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    # explicit raw 'P' decode: the indices are stored as they are
    im = Image.frombuffer('P', (mask.shape[1], mask.shape[0]),
                          mask.tobytes(), 'raw', 'P', 0, 1)
    im.putpalette(voc_colormap().ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, format='PNG')
    directory = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp_', suffix='.png')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _write_text(path: str, lines: Sequence[str]) -> None:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp_', suffix='.txt')
    with os.fdopen(fd, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))
    os.replace(tmp, path)


def read_sbd_mat(mat_path: str) -> np.ndarray:
    """The class mask of one SBD ``cls/<id>.mat`` file, (H, W) uint8.

    Args:
        mat_path (str): Path of the ``.mat`` file.

    Returns:
        np.ndarray: (H, W) uint8, ids 0..20 (SBD has no void label).
    """
    from scipy.io import loadmat
    if not osp.isfile(mat_path):
        raise FileNotFoundError(f'SBD annotation not found: {mat_path}')
    try:
        mat = loadmat(mat_path, mat_dtype=False, squeeze_me=False)
        seg = mat['GTcls']['Segmentation'][0][0]
    except Exception as e:
        raise ValueError(
            f'{mat_path} is not an SBD class annotation (expected a struct '
            f'GTcls with field Segmentation): {type(e).__name__}: {e}') from e
    seg = np.asarray(seg)
    if seg.ndim != 2:
        raise ValueError(f'{mat_path}: GTcls.Segmentation must be 2-D, '
                         f'found shape {seg.shape}')
    if seg.size and (seg.min() < 0 or seg.max() > 255):
        raise ValueError(f'{mat_path}: class ids must be in 0..255, found '
                         f'{seg.min()}..{seg.max()}')
    return seg.astype(np.uint8)


def _convert_one(job: Tuple[str, str, str], overwrite: bool) -> str:
    kind, src, dst = job
    if not overwrite and osp.isfile(dst):
        return 'skipped'
    if kind == 'sbd':
        mask = read_sbd_mat(src)
    else:
        with Image.open(src) as im:
            mask = np.array(im)
        if mask.ndim != 2:
            raise ValueError(f'VOC mask {src} must be a palette PNG, found '
                             f'shape {mask.shape}')
    save_palette_png(dst, mask)
    return 'written'


def _read_list(path: str) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'list file not found: {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def train_aug_ids(sbd_train: Sequence[str], sbd_val: Sequence[str],
                  voc_train: Sequence[str],
                  voc_val: Sequence[str]) -> List[str]:
    """(SBD train + SBD val + VOC train) minus VOC val, sorted, unique."""
    return sorted((set(sbd_train) | set(sbd_val) | set(voc_train)) -
                  set(voc_val))


def convert_voc_aug(devkit_path: str,
                    sbd_path: str,
                    out_dir: str = 'SegmentationClassAug',
                    prefer: str = 'voc',
                    nproc: int = 1,
                    overwrite: bool = False) -> dict:
    """Write ``SegmentationClassAug`` and ``train_aug.txt``.

    Args:
        devkit_path (str): ``VOCdevkit`` (holding ``VOC2012``) or the
            ``VOC2012`` folder itself.
        sbd_path (str): ``benchmark_RELEASE`` or its ``dataset`` folder.
        out_dir (str): Output mask folder under ``VOC2012``.
        prefer (str): 'voc' or 'sbd': whose mask wins for images in both.
        nproc (int): Worker processes.
        overwrite (bool): Rewrite existing outputs.

    Returns:
        dict: Counts (``sbd``, ``voc``, ``written``, ``skipped``,
        ``train_aug``).
    """
    if prefer not in ('voc', 'sbd'):
        raise ValueError(f"prefer must be 'voc' or 'sbd', got {prefer!r}")
    voc = devkit_path if osp.isdir(osp.join(
        devkit_path, 'JPEGImages')) else osp.join(devkit_path, 'VOC2012')
    sbd = sbd_path if osp.isdir(osp.join(sbd_path, 'cls')) else osp.join(
        sbd_path, 'dataset')
    cls_dir = osp.join(sbd, 'cls')
    if not osp.isdir(cls_dir):
        raise FileNotFoundError(
            f'SBD class annotations not found: {cls_dir} (expected '
            'benchmark_RELEASE/dataset/cls/*.mat)')
    sets = osp.join(voc, 'ImageSets', 'Segmentation')
    voc_train = _read_list(osp.join(sets, 'train.txt'))
    voc_val = _read_list(osp.join(sets, 'val.txt'))
    sbd_train = _read_list(osp.join(sbd, 'train.txt'))
    sbd_val = _read_list(osp.join(sbd, 'val.txt'))

    out = osp.join(voc, out_dir)
    os.makedirs(out, exist_ok=True)
    sbd_ids = sorted(f[:-4] for f in os.listdir(cls_dir) if f.endswith('.mat'))
    voc_seg = osp.join(voc, 'SegmentationClass')
    voc_ids = sorted(
        f[:-4] for f in os.listdir(voc_seg)
        if f.endswith('.png')) if osp.isdir(voc_seg) else []
    jobs = {}
    first, second = (('sbd', sbd_ids), ('voc', voc_ids)) if prefer == 'voc' \
        else (('voc', voc_ids), ('sbd', sbd_ids))
    for kind, ids in (first, second):  # the second source wins
        for i in ids:
            src = osp.join(cls_dir, i + '.mat') if kind == 'sbd' else \
                osp.join(voc_seg, i + '.png')
            jobs[i] = (kind, src, osp.join(out, i + '.png'))
    work = partial(_convert_one, overwrite=overwrite)
    if nproc > 1:
        with Pool(nproc) as pool:
            status = pool.map(work, list(jobs.values()), chunksize=64)
    else:
        status = [work(j) for j in jobs.values()]

    aug = train_aug_ids(sbd_train, sbd_val, voc_train, voc_val)
    missing = [i for i in aug if i not in jobs]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} train_aug image(s) have neither an SBD nor a '
            f'VOC mask (e.g. {missing[:5]}); is the SBD release complete?')
    _write_text(osp.join(sets, 'train_aug.txt'), aug)
    return dict(
        sbd=len(sbd_ids), voc=len(voc_ids),
        written=status.count('written'), skipped=status.count('skipped'),
        train_aug=len(aug))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='SBD .mat -> SegmentationClassAug PNGs + train_aug.txt')
    parser.add_argument('devkit_path', help='VOCdevkit (or VOC2012) folder')
    parser.add_argument('sbd_path', help='benchmark_RELEASE folder')
    parser.add_argument('--out-dir', default='SegmentationClassAug')
    parser.add_argument('--prefer', choices=('voc', 'sbd'), default='voc',
                        help='whose mask to keep for images in both')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    counts = convert_voc_aug(args.devkit_path, args.sbd_path, args.out_dir,
                             args.prefer, args.nproc, args.overwrite)
    print(counts)


if __name__ == '__main__':
    main()
