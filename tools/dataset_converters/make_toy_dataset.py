#!/usr/bin/env python
"""Generate the toy weakly supervised segmentation dataset (VOC layout).

The toy set is a small synthetic stand-in for PASCAL VOC that the demo, the
tests and CI use instead of a download. It is written in the exact VOC
layout, so every VOC code path (dataset, converters, pseudo-label tools)
runs on it unchanged::

    data/toy/
    ├── JPEGImages/toy_000000.jpg ...          RGB, size x size
    ├── SegmentationClass/toy_000000.png ...   palette PNG, ids 0..5, 255 on
    │                                          object borders (like VOC)
    ├── ImageSets/Segmentation/
    │   ├── train_aug.txt                      all training ids
    │   ├── train.txt                          first ``num_train`` of them
    │   └── val.txt                            held-out ids
    ├── cls_labels.npy                         pickled dict id -> float32[5]
    │                                          (train_aug + val, no background)
    ├── classes.txt                            one class name per line
    ├── meta.json                              classes, palette, parameters
    └── .toy_stamp.json                        written last; re-runs with the
                                               same parameters are no-ops

Classes (index: name, shape, typical hue, texture):

====  ========  =====================  ========  ==========================
id    name      shape                  hue       texture
====  ========  =====================  ========  ==========================
0     background
1     disc      ellipse                red       radial shading
2     block     rotated rectangle      blue      stripes along the long side
3     triangle  rotated triangle       green     dot grid
4     ring      annulus (hole is bg)   orange    speckle
5     cross     rotated plus sign      purple    checkerboard
====  ========  =====================  ========  ==========================

What makes it a WSSS problem rather than a colouring exercise:

* 1-4 objects per image, classes drawn with replacement, later objects
  occlude earlier ones (every kept object keeps a visible interior);
* the class colour is only *typical*: hue jitter, saturation/value ranges,
  and ``off_colour_prob`` of objects in a random hue, so shape and texture
  matter too;
* the class texture is strong near one random "discriminative spot" of the
  object and faint elsewhere, so classifiers fire on parts and CAMs are
  partial - the situation WSSS refinements are built for;
* backgrounds carry gradients, low-frequency colour noise, stripes, pixel
  noise, thin lines and distractor blobs (irregular, some in class-like
  colours and textures) that belong to no class.

Generation is deterministic: each image is drawn from its own random
generator seeded with ``(seed, index)``, so the same parameters give the
same bytes (with the same Pillow/OpenCV builds). Every file is written to a
temporary name and moved into place (``os.replace``); an interrupted run is
simply run again.

Usage::

    python tools/dataset_converters/make_toy_dataset.py --out-dir data/toy

or, from Python (tests)::

    from make_toy_dataset import make_toy_dataset
    summary = make_toy_dataset('data/toy', seed=0)
"""
import argparse
import io
import json
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

GENERATOR_VERSION = 1
STAMP_NAME = '.toy_stamp.json'

TOY_CLASSES = ('background', 'disc', 'block', 'triangle', 'ring', 'cross')
#: Typical hue of each object class, degrees (index 0 unused).
_CLASS_HUES = (0.0, 0.0, 215.0, 120.0, 40.0, 285.0)


def voc_colormap(num: int = 256) -> np.ndarray:
    """The standard PASCAL VOC colour map (bit-interleaved label colours).

    Args:
        num (int): Number of entries.

    Returns:
        np.ndarray: (num, 3) uint8 RGB; entry 255 is the VOC "void" colour.
    """
    ids = np.arange(num)
    cmap = np.zeros((num, 3), dtype=np.int64)
    for shift in range(8):
        for channel in range(3):
            bit = (ids >> channel) & 1
            cmap[:, channel] |= bit << (7 - shift)
        ids = ids >> 3
    return cmap.astype(np.uint8)


TOY_PALETTE = voc_colormap()[:len(TOY_CLASSES)].tolist()


# --------------------------------------------------------------------------
# drawing helpers (all vectorised over pixels)
# --------------------------------------------------------------------------
def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (h in degrees, s and v in [0, 1]) -> float RGB [0, 1]."""
    h = (h % 360.0) / 60.0
    c = v * s
    x = c * (1 - abs(h % 2 - 1))
    m = v - c
    table = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c),
             (c, 0, x)]
    r, g, b = table[int(h) % 6]
    return np.array([r + m, g + m, b + m], dtype=np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int,
                  channels: int = 1) -> np.ndarray:
    """Low-frequency noise in about [-1, 1], (size, size, channels)."""
    coarse = rng.standard_normal((cells, cells, channels)).astype(np.float32)
    fine = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return fine.reshape(size, size, channels)


def _grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs, ys


def _rotated(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float,
             theta: float) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in an object frame centred at (cx, cy), rotated."""
    dx, dy = xs - cx, ys - cy
    c, s = np.cos(theta), np.sin(theta)
    return c * dx + s * dy, -s * dx + c * dy


def _shape_mask(cls: int, geom: dict, xs: np.ndarray,
                ys: np.ndarray) -> np.ndarray:
    """Boolean (H, W) footprint of one object of class ``cls``."""
    u, v = _rotated(xs, ys, geom['cx'], geom['cy'], geom['theta'])
    r = geom['r']
    if cls == 1:  # disc: ellipse
        return (u / (r * geom['a']))**2 + (v / r)**2 <= 1.0
    if cls == 2:  # block: rectangle
        return (np.abs(u) <= r * geom['a']) & (np.abs(v) <= r * geom['b'])
    if cls == 3:  # triangle: intersection of three half-planes
        angles = geom['theta'] + np.array([0.0, 2.0, 4.0]) * np.pi / 3
        radii = r * geom['tri_radii']
        px = geom['cx'] + radii * np.cos(angles)
        py = geom['cy'] + radii * np.sin(angles)
        inside = np.ones(xs.shape, dtype=bool)
        for i in range(3):  # three edges, not pixels
            j = (i + 1) % 3
            cross = (px[j] - px[i]) * (ys - py[i]) - (py[j] - py[i]) * (
                xs - px[i])
            inside &= cross >= 0
        return inside
    if cls == 4:  # ring: annulus, the hole stays background
        d2 = (u / geom['a'])**2 + v**2
        return (d2 <= r**2) & (d2 >= (r * geom['hole'])**2)
    if cls == 5:  # cross: two bars
        w = r * geom['b']
        return ((np.abs(u) <= r) & (np.abs(v) <= w)) | (
            (np.abs(v) <= r) & (np.abs(u) <= w))
    raise ValueError(f'unknown toy class id {cls}')


def _texture(kind: int, geom: dict, xs: np.ndarray, ys: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """Class texture in [0, 1], (H, W); 1 = darkest."""
    u, v = _rotated(xs, ys, geom['cx'], geom['cy'], geom['theta'])
    period = geom['period']
    if kind == 1:  # radial shading with concentric bands
        d = np.sqrt(u**2 + v**2) / max(geom['r'], 1.0)
        return np.clip(0.6 * d + 0.4 * (0.5 + 0.5 * np.sin(
            2 * np.pi * d * geom['r'] / period)), 0, 1)
    if kind == 2:  # stripes along the long side
        return (np.sin(2 * np.pi * v / period) > 0).astype(np.float32)
    if kind == 3:  # dot grid
        return ((np.sin(2 * np.pi * u / period) *
                 np.sin(2 * np.pi * v / period)) > 0.35).astype(np.float32)
    if kind == 4:  # speckle
        return (rng.random(xs.shape) > 0.55).astype(np.float32)
    if kind == 5:  # checkerboard
        return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(
            np.float32)
    raise ValueError(f'unknown texture {kind}')


def _random_geometry(cls: int, size: int, rng: np.random.Generator,
                     scale_range: Tuple[float, float]) -> dict:
    r = float(rng.uniform(*scale_range)) * size
    geom = dict(
        cx=float(rng.uniform(0.12, 0.88) * size),
        cy=float(rng.uniform(0.12, 0.88) * size),
        theta=float(rng.uniform(0, 2 * np.pi)),
        r=r,
        a=float(rng.uniform(0.65, 1.0)),
        b=float(rng.uniform(0.3, 0.55)),
        hole=float(rng.uniform(0.4, 0.6)),
        tri_radii=rng.uniform(0.9, 1.25, size=3),
        period=float(rng.uniform(3.5, 7.0)),
    )
    if cls == 2:  # blocks: long side a, short side b
        geom['a'] = float(rng.uniform(0.8, 1.1))
        geom['b'] = float(rng.uniform(0.35, 0.65))
    if cls == 5:
        geom['b'] = float(rng.uniform(0.22, 0.38))
    if cls == 3:
        geom['r'] = r * 1.15  # triangles look small for the same radius
    return geom


# --------------------------------------------------------------------------
# one sample
# --------------------------------------------------------------------------
def _background(rng: np.random.Generator, size: int, xs: np.ndarray,
                ys: np.ndarray) -> np.ndarray:
    """Cluttered background, float RGB (H, W, 3) in about [0, 1]."""
    base = rng.uniform(0.2, 0.8, size=3).astype(np.float32)
    img = np.broadcast_to(base, (size, size, 3)).copy()
    # linear gradient in a random direction
    phi = rng.uniform(0, 2 * np.pi)
    ramp = ((xs * np.cos(phi) + ys * np.sin(phi)) / size - 0.5)
    img += ramp[..., None] * rng.uniform(-0.35, 0.35, size=3)
    # low-frequency colour noise
    img += 0.12 * _smooth_noise(rng, size, int(rng.integers(3, 8)), 3)
    # stripes
    if rng.random() < 0.5:
        phi = rng.uniform(0, np.pi)
        period = rng.uniform(4, 18)
        wave = np.sin(2 * np.pi * (xs * np.cos(phi) + ys * np.sin(phi)) /
                      period)
        img += wave[..., None] * rng.uniform(-0.15, 0.15, size=3)
    return img


def _paint(img: np.ndarray, region: np.ndarray, colour: np.ndarray,
           texture: np.ndarray, strength: np.ndarray) -> None:
    """Paint ``colour`` modulated by ``texture`` into ``img`` where region."""
    shade = 1.0 - strength * texture
    img[region] = colour[None] * shade[region][:, None]


def _distractors(img: np.ndarray, rng: np.random.Generator, size: int,
                 xs: np.ndarray, ys: np.ndarray) -> None:
    """Class-less blobs and lines drawn into the background (in place)."""
    for _ in range(int(rng.integers(1, 5))):
        cx, cy = rng.uniform(0, size, size=2)
        rad = rng.uniform(0.06, 0.2) * size
        blob = _smooth_noise(rng, size, 6)[..., 0]
        d = np.sqrt((xs - cx)**2 + (ys - cy)**2) / rad
        region = (1.0 - d + 0.6 * blob) > 0.3
        if rng.random() < 0.4:  # class-like hue: colour alone can mislead
            hue = _CLASS_HUES[int(rng.integers(1, len(TOY_CLASSES)))]
            hue += rng.normal(0, 15)
        else:
            hue = rng.uniform(0, 360)
        colour = _hsv_to_rgb(hue, rng.uniform(0.3, 0.9), rng.uniform(0.4, 1))
        tex_kind = int(rng.integers(0, 6))
        if tex_kind == 0:
            tex = np.zeros(xs.shape, np.float32)
        else:
            geom = dict(cx=cx, cy=cy, theta=rng.uniform(0, 2 * np.pi),
                        r=rad, period=rng.uniform(3.5, 7.0))
            tex = _texture(tex_kind, geom, xs, ys, rng)
        strength = np.full(xs.shape, rng.uniform(0.0, 0.35), np.float32)
        _paint(img, region, colour, tex, strength)
    for _ in range(int(rng.integers(0, 4))):
        p0 = tuple(int(t) for t in rng.integers(0, size, size=2))
        p1 = tuple(int(t) for t in rng.integers(0, size, size=2))
        colour = tuple(float(t) for t in rng.uniform(0, 1, size=3))
        cv2.line(img, p0, p1, colour, int(rng.integers(1, 3)))


def render_toy_sample(rng: np.random.Generator,
                      size: int = 128,
                      max_objects: int = 4,
                      scale_range: Tuple[float, float] = (0.12, 0.28),
                      off_colour_prob: float = 0.2,
                      min_visible: int = 40,
                      border_width: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one toy image and its VOC-style mask.

    Args:
        rng (np.random.Generator): Source of randomness (consumed).
        size (int): Side of the square image in pixels.
        max_objects (int): Objects per image are drawn from 1..max_objects.
        scale_range (tuple[float, float]): Object radius as a fraction of
            ``size``.
        off_colour_prob (float): Probability that an object gets a random hue
            instead of its class hue.
        min_visible (int): Minimum number of visible interior pixels of a
            kept object; occluded objects below it are removed.
        border_width (int): Half-width of the 255 "void" band drawn on every
            object outline (VOC style).

    Returns:
        tuple: ``img`` (H, W, 3) uint8 RGB and ``mask`` (H, W) uint8 with
        class ids 0..5 and 255 on object borders.
    """
    xs, ys = _grid(size)
    num_classes = len(TOY_CLASSES)
    kernel = np.ones((2 * border_width + 1, 2 * border_width + 1), np.uint8)
    while True:
        n = int(rng.integers(1, max_objects + 1))
        classes = rng.integers(1, num_classes, size=n)
        geoms = [_random_geometry(int(c), size, rng, scale_range)
                 for c in classes]
        footprints = [_shape_mask(int(c), g, xs, ys)
                      for c, g in zip(classes, geoms)]
        keep = list(range(n))
        while keep:
            index = np.zeros((size, size), np.uint8)  # 0 = bg, k+1 = object
            for k in keep:
                index[footprints[k]] = k + 1
            border = cv2.dilate(index, kernel) != cv2.erode(index, kernel)
            interior = np.bincount(
                index[~border].ravel(), minlength=n + 1)
            weak = [k for k in keep if interior[k + 1] < min_visible]
            if not weak:
                break
            keep = [k for k in keep if k not in weak]
        if keep:
            break

    img = _background(rng, size, xs, ys)
    _distractors(img, rng, size, xs, ys)
    mask = np.zeros((size, size), np.uint8)
    for k in keep:
        cls = int(classes[k])
        geom = geoms[k]
        region = index == k + 1
        if rng.random() < off_colour_prob:
            hue = rng.uniform(0, 360)
        else:
            hue = _CLASS_HUES[cls] + rng.normal(0, 12)
        colour = _hsv_to_rgb(hue, rng.uniform(0.5, 1.0), rng.uniform(0.55, 1))
        tex = _texture(cls, geom, xs, ys, rng)
        # discriminative spot: strong texture near it, faint elsewhere
        spot = np.argwhere(region)[int(rng.integers(0, region.sum()))]
        d2 = (ys - spot[0])**2 + (xs - spot[1])**2
        sigma = 0.55 * geom['r']
        strength = 0.12 + 0.5 * np.exp(-d2 / (2 * sigma**2))
        _paint(img, region, colour, tex, strength.astype(np.float32))
        mask[region] = cls
    mask[border] = 255
    img += rng.normal(0, rng.uniform(0.01, 0.05), img.shape).astype(
        np.float32)
    img = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return img, mask


def labels_from_mask(mask: np.ndarray, num_fg_classes: int) -> np.ndarray:
    """Multi-hot foreground labels of a mask (ids 1..C, 0 and 255 ignored).

    Args:
        mask (np.ndarray): (H, W) integer class ids.
        num_fg_classes (int): Number of object classes C.

    Returns:
        np.ndarray: (C,) float32, entry c-1 is 1 if class c occurs.
    """
    ids = np.unique(mask)
    ids = ids[(ids > 0) & (ids <= num_fg_classes)]
    out = np.zeros(num_fg_classes, np.float32)
    out[ids.astype(np.int64) - 1] = 1.0
    return out


# --------------------------------------------------------------------------
# atomic file writing
# --------------------------------------------------------------------------
def _atomic_write_bytes(path: str, data: bytes) -> None:
    directory = osp.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp_',
                               suffix=osp.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _encode_jpeg(img: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img, 'RGB').save(
        buf, format='JPEG', quality=quality, subsampling=0, optimize=False)
    return buf.getvalue()


def encode_palette_png(mask: np.ndarray) -> bytes:
    """Encode a (H, W) uint8 label map as a VOC palette PNG."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    # explicit raw 'P' decode: the indices are stored as they are
    png = Image.frombuffer('P', (mask.shape[1], mask.shape[0]),
                          mask.tobytes(), 'raw', 'P', 0, 1)
    png.putpalette(voc_colormap().ravel().tolist())
    buf = io.BytesIO()
    png.save(buf, format='PNG')
    return buf.getvalue()


def _save_npy_dict(path: str, labels: Dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.save(buf, labels, allow_pickle=True)
    _atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------
def toy_image_ids(num_train_aug: int, num_val: int) -> Tuple[List[str],
                                                             List[str]]:
    """Ids of the train_aug and val images: ``toy_000000`` ..."""
    ids = [f'toy_{i:06d}' for i in range(num_train_aug + num_val)]
    return ids[:num_train_aug], ids[num_train_aug:]


def make_toy_dataset(out_dir: str = 'data/toy',
                     seed: int = 0,
                     num_train_aug: int = 480,
                     num_train: int = 120,
                     num_val: int = 120,
                     size: int = 128,
                     max_objects: int = 4,
                     off_colour_prob: float = 0.2,
                     jpeg_quality: int = 90,
                     force: bool = False,
                     verbose: bool = False) -> dict:
    """Write the toy dataset to ``out_dir`` (see the module docstring).

    Args:
        out_dir (str): Output root (created).
        seed (int): Base seed; image i uses the generator ``(seed, i)``.
        num_train_aug (int): Images in ``train_aug.txt``.
        num_train (int): First ``num_train`` of them form ``train.txt``
            (pseudo-label evaluation split, a subset of train_aug as in VOC).
        num_val (int): Images in ``val.txt``.
        size (int): Image side in pixels.
        max_objects (int): Objects per image are 1..max_objects.
        off_colour_prob (float): Fraction of objects in a random colour.
        jpeg_quality (int): JPEG quality of the images.
        force (bool): Regenerate even if the stamp matches.
        verbose (bool): Print progress and statistics.

    Returns:
        dict: Parameters, per-split counts, class frequencies and
        ``skipped`` (True if an up-to-date dataset was found).
    """
    if not 0 < num_train <= num_train_aug:
        raise ValueError(f'num_train must be in 1..num_train_aug '
                         f'({num_train_aug}), got {num_train}')
    if num_val < 1:
        raise ValueError(f'num_val must be >= 1, got {num_val}')
    if size < 32:
        raise ValueError(f'size must be >= 32 pixels, got {size}')
    params = dict(
        generator_version=GENERATOR_VERSION, seed=seed,
        num_train_aug=num_train_aug, num_train=num_train, num_val=num_val,
        size=size, max_objects=max_objects, off_colour_prob=off_colour_prob,
        jpeg_quality=jpeg_quality)
    stamp_path = osp.join(out_dir, STAMP_NAME)
    if not force and osp.isfile(stamp_path):
        with open(stamp_path) as f:
            stamp = json.load(f)
        if stamp.get('params') == params:
            stamp['skipped'] = True
            if verbose:
                print(f'{out_dir}: up to date (stamp {stamp_path}), skipped')
            return stamp
    if osp.isfile(stamp_path):
        os.remove(stamp_path)  # parameters change: stale until rewritten

    start = time.perf_counter()
    img_dir = osp.join(out_dir, 'JPEGImages')
    seg_dir = osp.join(out_dir, 'SegmentationClass')
    set_dir = osp.join(out_dir, 'ImageSets', 'Segmentation')
    for d in (img_dir, seg_dir, set_dir):
        os.makedirs(d, exist_ok=True)

    train_aug_ids, val_ids = toy_image_ids(num_train_aug, num_val)
    all_ids = train_aug_ids + val_ids
    num_fg = len(TOY_CLASSES) - 1
    cls_labels: Dict[str, np.ndarray] = {}
    objects_per_image = []
    pixel_counts = np.zeros(256, np.int64)
    for i, img_id in enumerate(all_ids):
        rng = np.random.default_rng([seed, i])
        img, mask = render_toy_sample(
            rng, size=size, max_objects=max_objects,
            off_colour_prob=off_colour_prob)
        _atomic_write_bytes(osp.join(img_dir, img_id + '.jpg'),
                            _encode_jpeg(img, jpeg_quality))
        _atomic_write_bytes(osp.join(seg_dir, img_id + '.png'),
                            encode_palette_png(mask))
        cls_labels[img_id] = labels_from_mask(mask, num_fg)
        objects_per_image.append(int(cls_labels[img_id].sum()))
        pixel_counts += np.bincount(mask.ravel(), minlength=256)
        if verbose and (i + 1) % 100 == 0:
            print(f'  {i + 1}/{len(all_ids)} images')

    # stale files of an earlier, larger run
    wanted = set(all_ids)
    for d, suffix in ((img_dir, '.jpg'), (seg_dir, '.png')):
        for name in os.listdir(d):
            stem = name[:-len(suffix)]
            if (name.startswith('toy_') and name.endswith(suffix)
                    and stem not in wanted):
                os.remove(osp.join(d, name))

    lists = dict(
        train_aug=train_aug_ids, train=train_aug_ids[:num_train],
        val=val_ids)
    for split, ids in lists.items():
        _atomic_write_bytes(
            osp.join(set_dir, split + '.txt'),
            (''.join(i + '\n' for i in ids)).encode())
    _save_npy_dict(osp.join(out_dir, 'cls_labels.npy'), cls_labels)
    _atomic_write_bytes(
        osp.join(out_dir, 'classes.txt'),
        ''.join(c + '\n' for c in TOY_CLASSES).encode())

    label_matrix = np.stack([cls_labels[i] for i in all_ids])
    total = pixel_counts.sum()
    summary = dict(
        params=params,
        classes=list(TOY_CLASSES),
        palette=TOY_PALETTE,
        splits={k: len(v) for k, v in lists.items()},
        images_per_class=dict(
            zip(TOY_CLASSES[1:], label_matrix.sum(0).astype(int).tolist())),
        mean_classes_per_image=float(np.mean(objects_per_image)),
        pixel_fraction=dict(
            background=float(pixel_counts[0] / total),
            foreground=float(pixel_counts[1:len(TOY_CLASSES)].sum() / total),
            void=float(pixel_counts[255] / total)),
        seconds=round(time.perf_counter() - start, 2),
        skipped=False)
    meta = {k: v for k, v in summary.items() if k not in ('skipped', )}
    _atomic_write_bytes(
        osp.join(out_dir, 'meta.json'),
        json.dumps(meta, indent=2).encode())
    _atomic_write_bytes(stamp_path, json.dumps(meta, indent=2).encode())
    if verbose:
        print(json.dumps(summary, indent=2))
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the toy WSSS dataset in VOC layout.')
    parser.add_argument('--out-dir', default='data/toy')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-aug', type=int, default=480)
    parser.add_argument('--num-train', type=int, default=120,
                        help='first N train_aug ids form train.txt')
    parser.add_argument('--num-val', type=int, default=120)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--off-colour-prob', type=float, default=0.2)
    parser.add_argument('--jpeg-quality', type=int, default=90)
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if the stamp is up to date')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    make_toy_dataset(
        args.out_dir, seed=args.seed, num_train_aug=args.num_train_aug,
        num_train=args.num_train, num_val=args.num_val, size=args.size,
        max_objects=args.max_objects, off_colour_prob=args.off_colour_prob,
        jpeg_quality=args.jpeg_quality, force=args.force, verbose=True)


if __name__ == '__main__':
    main()
