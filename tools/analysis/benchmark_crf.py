#!/usr/bin/env python
"""Dense-CRF throughput with 1 vs N worker processes, measured in one run.

The pseudo-label engine runs the CRF (and the label post-processing) of each
image in a process pool (``crf_workers``). This script times
:func:`wsss_mmseg.models.ops.dense_crf_batch` on real photos from
``skimage.data`` (astronaut, chelsea, coffee, resized) with VOC-sized
synthetic score maps, first with one process, then with each requested pool
size, checks that every run gives identical marginals, and prints images/s
and the speed-up over one process. The target is >= 1.8x with 2 workers on
2 free cores; on a shared machine the ratio is bounded by the cores other
jobs leave free, so the script also prints the load average.

Example::

    python tools/analysis/benchmark_crf.py                 # 1 vs 2 workers
    python tools/analysis/benchmark_crf.py --workers 2 4 --num-images 96
"""
import argparse
import os
import resource
import time

import numpy as np


def make_inputs(num_images: int, size: int, num_classes: int, seed: int = 0):
    """RGB photos and (C, H, W) scores that follow the photos' colours.

    Each class gets a prototype colour picked from the image; the scores are
    a softmax of minus the colour distance plus noise, with all but three
    classes suppressed (as after restriction to the image labels).
    """
    import cv2
    from skimage import data as skdata
    rng = np.random.RandomState(seed)
    photos = [skdata.astronaut(), skdata.chelsea(), skdata.coffee()]
    images, scores = [], []
    for i in range(num_images):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        scale = size / max(h, w)
        img = cv2.resize(photo, (round(w * scale), round(h * scale)),
                         interpolation=cv2.INTER_AREA)
        img = np.ascontiguousarray(img.astype(np.uint8))
        hh, ww = img.shape[:2]
        ys = rng.randint(0, hh, num_classes)
        xs = rng.randint(0, ww, num_classes)
        protos = img[ys, xs].astype(np.float32)
        dist = ((img[None].astype(np.float32) -
                 protos[:, None, None]) ** 2).sum(-1) / 2000.
        logits = -dist + rng.normal(0, 0.5, dist.shape)
        keep = np.zeros(num_classes, bool)
        keep[rng.choice(num_classes, 3, replace=False)] = True
        logits[~keep] = -1e4
        prob = np.exp(logits - logits.max(0, keepdims=True))
        prob /= prob.sum(0, keepdims=True)
        images.append(img)
        scores.append(prob.astype(np.float32))
    return images, scores


def _cpu_seconds() -> float:
    """CPU time of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_pool(images, scores, workers: int, params: dict, repeats: int):
    """Best wall time over ``repeats`` runs, the CPU seconds of that run
    (all processes) and the outputs."""
    from wsss_mmseg.models.ops import dense_crf_batch
    best, cpu, out = float('inf'), 0.0, None
    for _ in range(repeats):
        start, cpu0 = time.perf_counter(), _cpu_seconds()
        out = dense_crf_batch(images, scores, num_workers=workers, **params)
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, _cpu_seconds() - cpu0
    return best, cpu, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workers', type=int, nargs='+', default=[2],
                        help='pool sizes to compare with 1 process')
    # 48 images: enough that pool start-up and the last image's tail do not
    # dominate (12 images measured 1.66x, 36 images 1.81x on 2 free cores)
    parser.add_argument('--num-images', type=int, default=48)
    parser.add_argument('--size', type=int, default=256,
                        help='long side of the images (VOC ~500)')
    parser.add_argument('--num-classes', type=int, default=21)
    parser.add_argument('--n-iter', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=2)
    args = parser.parse_args(argv)

    from wsss_mmseg.models.ops import DEFAULT_CRF_PARAMS
    params = dict(DEFAULT_CRF_PARAMS, n_iter=args.n_iter)
    images, scores = make_inputs(args.num_images, args.size,
                                 args.num_classes)
    shape = images[0].shape
    print(f'dense CRF throughput: {args.num_images} images of about '
          f'{shape[0]}x{shape[1]}, {args.num_classes} classes, '
          f'{args.n_iter} iterations, best of {args.repeats}')
    print(f'machine: {os.cpu_count()} cores, load average before the run '
          f'{os.getloadavg()[0]:.2f} (the machine may be shared: the ratio '
          'is bounded by the free cores)')
    base_t, base_cpu, base_out = time_pool(images, scores, 1, params,
                                           args.repeats)
    rows = [(1, base_t, base_cpu, 1.0, True)]
    for workers in args.workers:
        t, cpu, out = time_pool(images, scores, workers, params, args.repeats)
        same = all(np.array_equal(a, b) for a, b in zip(base_out, out))
        rows.append((workers, t, cpu, base_t / t, same))
    # cores used = CPU seconds / wall seconds: below the worker count when
    # other jobs hold the cores
    print(f"{'workers':>8} {'seconds':>9} {'images/s':>9} {'speed-up':>9} "
          f"{'cores used':>11} {'identical':>10}")
    for workers, t, cpu, ratio, same in rows:
        print(f'{workers:>8d} {t:>9.2f} {args.num_images / t:>9.2f} '
              f'{ratio:>8.2f}x {cpu / t:>11.2f} {str(same):>10}')
    two = next((r for r in rows if r[0] == 2), None)
    if two is not None:
        verdict = 'meets' if two[3] >= 1.8 else 'misses'
        print(f'2 workers vs 1: {two[3]:.2f}x ({verdict} the 1.8x target; '
              f'load average after {os.getloadavg()[0]:.2f})')
    if not all(r[4] for r in rows):
        raise SystemExit('pool results differ from the single-process ones')


if __name__ == '__main__':
    main()
