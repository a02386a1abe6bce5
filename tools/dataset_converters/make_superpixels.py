#!/usr/bin/env python
"""Compute and cache superpixel maps of a dataset split (SPN, methods §1.2).

One label map per image, ids contiguous ``0..N-1``, computed on the original
image with scikit-image: Felzenszwalb-Huttenlocher (default [ours]) or SLIC.
Written as 16-bit PNG (``--format png``, default; lossless, N <= 65535) or
int32 ``.npy``, atomically (temp file + ``os.replace``); a rerun skips the
maps already written (resume). A ``superpixels.json`` stamp records the
algorithm and parameters; rerunning with different ones into the same
directory is refused (stale-cache protection) unless ``--overwrite``.

Layout::

    <data_root>/<out_dir>/<img_id>.png      uint16 ids (or .npy int32)
    <data_root>/<out_dir>/superpixels.json  algorithm + parameters

Examples::

    # VOC train_aug with the SPN config's superpixel_cfg
    python tools/dataset_converters/make_superpixels.py \\
        data/VOCdevkit/VOC2012 --split ImageSets/Segmentation/train_aug.txt --workers 8 \\
        --config configs/spn/spn_vgg16_voc.py
    # SLIC, explicit parameters
    python tools/dataset_converters/make_superpixels.py data/toy \\
        --split ImageSets/Segmentation/train_aug.txt --algorithm slic \\
        --n-segments 300 --compactness 10 --out-dir superpixels/slic
"""
import argparse
import json
import multiprocessing as mp
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

ALGORITHMS = ('felzenszwalb', 'slic')
# [ours] defaults: ~200-600 superpixels on a 500x375 VOC image
DEFAULT_PARAMS = dict(
    felzenszwalb=dict(scale=100.0, sigma=0.8, min_size=50),
    slic=dict(n_segments=500, compactness=10.0, sigma=1.0))
STAMP = 'superpixels.json'


def relabel_contiguous(labels: np.ndarray) -> np.ndarray:
    """Map arbitrary integer ids to ``0..N-1`` (order of first sorted id).

    Args:
        labels (np.ndarray): (H, W) integer ids.

    Returns:
        np.ndarray: (H, W) int32 contiguous ids.
    """
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def compute_superpixels(image: np.ndarray, algorithm: str = 'felzenszwalb',
                        **params) -> np.ndarray:
    """Superpixels of one RGB image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB.
        algorithm (str): 'felzenszwalb' or 'slic'.
        **params: The algorithm's parameters (see ``DEFAULT_PARAMS``).

    Returns:
        np.ndarray: (H, W) int32 ids ``0..N-1``.
    """
    from skimage.segmentation import felzenszwalb, slic
    if algorithm not in ALGORITHMS:
        raise ValueError(f'superpixel algorithm must be one of {ALGORITHMS}, '
                         f'got {algorithm!r}')
    cfg = dict(DEFAULT_PARAMS[algorithm])
    unknown = set(params) - set(cfg)
    if unknown:
        raise ValueError(f'unknown {algorithm} parameters {sorted(unknown)}; '
                         f'expected {sorted(cfg)}')
    cfg.update(params)
    if algorithm == 'felzenszwalb':
        labels = felzenszwalb(image, scale=cfg['scale'], sigma=cfg['sigma'],
                              min_size=int(cfg['min_size']))
    else:
        labels = slic(image, n_segments=int(cfg['n_segments']),
                      compactness=cfg['compactness'], sigma=cfg['sigma'],
                      start_label=0, channel_axis=-1)
    return relabel_contiguous(labels)


def save_superpixels(path: str, labels: np.ndarray) -> None:
    """Write a map atomically (temp file in the same directory + rename).

    Args:
        path (str): ``.png`` (uint16) or ``.npy`` (int32).
        labels (np.ndarray): (H, W) ids ``0..N-1``.
    """
    import cv2
    directory = osp.dirname(path) or '.'
    ext = osp.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=directory, suffix='.tmp' + ext)
    os.close(fd)
    try:
        if ext == '.png':
            if labels.max(initial=0) > np.iinfo(np.uint16).max:
                raise ValueError(
                    f'{path}: {int(labels.max()) + 1} superpixels do not fit '
                    'a 16-bit PNG; use --format npy')
            if not cv2.imwrite(tmp, labels.astype(np.uint16)):
                raise OSError(f'could not write {tmp}')
        elif ext == '.npy':
            with open(tmp, 'wb') as f:
                np.save(f, labels.astype(np.int32))
        else:
            raise ValueError(f'unknown superpixel file type {ext!r} '
                             '(.png or .npy)')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def load_superpixels(path: str) -> np.ndarray:
    """Read a cached map written by :func:`save_superpixels`.

    Returns:
        np.ndarray: (H, W) int32 ids.
    """
    import cv2
    if not osp.isfile(path):
        raise FileNotFoundError(f'superpixel map {path} not found; run '
                                'tools/dataset_converters/make_superpixels.py')
    if path.endswith('.npy'):
        return np.load(path).astype(np.int32)
    labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 2:
        raise ValueError(f'{path} is not a single-channel superpixel map')
    return labels.astype(np.int32)


def _work(job: Tuple[str, str, str, Dict]) -> Tuple[str, int]:
    """Worker: compute and save one image's superpixels."""
    img_path, out_path, algorithm, params = job
    import cv2
    bgr = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f'image {img_path} not found or unreadable')
    labels = compute_superpixels(bgr[..., ::-1].copy(), algorithm, **params)
    save_superpixels(out_path, labels)
    return out_path, int(labels.max()) + 1


def read_split(data_root: str, split: Optional[str],
               img_dir: str, img_suffix: str) -> List[str]:
    """Image ids of a split file, or every image of ``img_dir``."""
    if split:
        path = split if osp.isabs(split) else osp.join(data_root, split)
        if not osp.isfile(path):
            raise FileNotFoundError(f'split file {path} not found')
        with open(path) as f:
            return [line.split()[0] for line in f if line.strip()]
    folder = osp.join(data_root, img_dir)
    return sorted(
        osp.splitext(n)[0] for n in os.listdir(folder)
        if n.endswith(img_suffix))


def check_stamp(out_dir: str, record: Dict, overwrite: bool) -> None:
    """Refuse to mix maps made with different parameters in one directory."""
    path = osp.join(out_dir, STAMP)
    if osp.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != record and not overwrite:
            raise ValueError(
                f'{out_dir} holds superpixels made with {old}, not {record}; '
                'choose another --out-dir or pass --overwrite')
        if old == record:
            return
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.json.tmp')
    with os.fdopen(fd, 'w') as f:
        json.dump(record, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def make_superpixels(data_root: str,
                     out_dir: str = 'superpixels/felzenszwalb',
                     split: Optional[str] = None,
                     img_dir: str = 'JPEGImages',
                     img_suffix: str = '.jpg',
                     algorithm: str = 'felzenszwalb',
                     params: Optional[Dict] = None,
                     fmt: str = 'png',
                     workers: int = 1,
                     overwrite: bool = False,
                     progress: bool = True) -> Dict:
    """Compute the superpixel cache of a split.

    Args:
        data_root (str): Dataset root.
        out_dir (str): Output folder, relative to ``data_root`` unless
            absolute.
        split (str, optional): Split file (ids, one per line); None = every
            image of ``img_dir``.
        img_dir (str): Image folder under ``data_root``.
        img_suffix (str): Image file suffix.
        algorithm (str): 'felzenszwalb' or 'slic'.
        params (dict, optional): Algorithm parameters (defaults above).
        fmt (str): 'png' (uint16) or 'npy' (int32).
        workers (int): Worker processes (0 or 1 = in process).
        overwrite (bool): Recompute existing maps and replace the stamp.
        progress (bool): Show a progress bar.

    Returns:
        dict: ``done`` (computed now), ``skipped`` (already there),
        ``seconds``, ``mean_superpixels`` over the computed maps.
    """
    if fmt not in ('png', 'npy'):
        raise ValueError(f'--format must be png or npy, got {fmt!r}')
    if algorithm not in ALGORITHMS:
        raise ValueError(f'superpixel algorithm must be one of {ALGORITHMS}, '
                         f'got {algorithm!r}')
    params = dict(DEFAULT_PARAMS[algorithm], **(params or {}))
    out = out_dir if osp.isabs(out_dir) else osp.join(data_root, out_dir)
    os.makedirs(out, exist_ok=True)
    check_stamp(out, dict(algorithm=algorithm, params=params, format=fmt),
                overwrite)
    ids = read_split(data_root, split, img_dir, img_suffix)
    jobs, skipped = [], 0
    for img_id in ids:
        target = osp.join(out, f'{img_id}.{fmt}')
        if osp.isfile(target) and not overwrite:
            skipped += 1
            continue
        jobs.append((osp.join(data_root, img_dir, img_id + img_suffix),
                     target, algorithm, params))
    start = time.perf_counter()
    counts = []
    bar = None
    if progress and jobs:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(jobs))
    if workers > 1 and len(jobs) > 1:
        ctx = mp.get_context('fork' if sys.platform != 'win32' else 'spawn')
        with ctx.Pool(workers) as pool:
            chunk = max(1, min(16, len(jobs) // (4 * workers)))
            for _, n in pool.imap_unordered(_work, jobs, chunksize=chunk):
                counts.append(n)
                if bar:
                    bar.update()
    else:
        for job in jobs:
            counts.append(_work(job)[1])
            if bar:
                bar.update()
    if bar:
        sys.stdout.write('\n')
    return dict(
        done=len(jobs),
        skipped=skipped,
        seconds=time.perf_counter() - start,
        mean_superpixels=float(np.mean(counts)) if counts else 0.0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Cache superpixel maps of a dataset split (SPN).')
    parser.add_argument('data_root', help='dataset root (VOC layout)')
    parser.add_argument('--split', help='split file relative to data_root '
                        '(default: every image of --img-dir)')
    parser.add_argument('--img-dir', default='JPEGImages')
    parser.add_argument('--img-suffix', default='.jpg')
    parser.add_argument('--out-dir', default=None,
                        help='default superpixels/<algorithm>')
    parser.add_argument('--config', help='read superpixel_cfg from this '
                        'config (CLI options override it)')
    parser.add_argument('--algorithm', choices=ALGORITHMS)
    parser.add_argument('--scale', type=float, help='felzenszwalb scale')
    parser.add_argument('--sigma', type=float, help='Gaussian pre-smoothing')
    parser.add_argument('--min-size', type=int, help='felzenszwalb min_size')
    parser.add_argument('--n-segments', type=int, help='slic n_segments')
    parser.add_argument('--compactness', type=float, help='slic compactness')
    parser.add_argument('--format', default=None, choices=('png', 'npy'))
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg: Dict = {}
    if args.config:
        import wsss_mmseg  # noqa: F401  (wsss_mmseg:: bases)
        from mmengine.config import Config
        cfg = dict(Config.fromfile(args.config).get('superpixel_cfg', {}))
        if not cfg:
            raise KeyError(f'{args.config} defines no superpixel_cfg')
    algorithm = args.algorithm or cfg.pop('algorithm', 'felzenszwalb')
    if args.algorithm:
        cfg.pop('algorithm', None)
    out_dir = args.out_dir or cfg.pop('out_dir', f'superpixels/{algorithm}')
    cfg.pop('out_dir', None)
    fmt = args.format or cfg.pop('format', 'png')
    cfg.pop('format', None)
    params = {k: v for k, v in cfg.items() if k in DEFAULT_PARAMS[algorithm]}
    for key in ('scale', 'sigma', 'min_size', 'n_segments', 'compactness'):
        value = getattr(args, key)
        if value is not None:
            if key not in DEFAULT_PARAMS[algorithm]:
                raise ValueError(f'--{key.replace("_", "-")} does not apply '
                                 f'to {algorithm}')
            params[key] = value
    stats = make_superpixels(
        args.data_root, out_dir, args.split, args.img_dir, args.img_suffix,
        algorithm, params, fmt, args.workers, args.overwrite)
    print(f'{stats["done"]} maps written, {stats["skipped"]} already there, '
          f'{stats["seconds"]:.1f} s, mean {stats["mean_superpixels"]:.0f} '
          'superpixels per image')


if __name__ == '__main__':
    main()
