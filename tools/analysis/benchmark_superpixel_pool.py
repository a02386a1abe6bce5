"""Benchmark superpixel pooling (SPN, methods.md §1.1.3) in one run.

Times forward + backward of:

1. ``superpixel_pool`` — the batched, area-weighted op (one bincount-style
   pair count and one ``index_add`` over the whole batch; includes the id
   compaction);
2. the naive reference — nearest-upsample the features to image size and
   average under every superpixel mask, one superpixel at a time
   (as ``superpixel_pool_reference``); target: (1) is >= 20x faster. Its
   cost is the same for every superpixel, so by default it is timed on
   ``--loop-sample`` of them and scaled to all (``--full-loop`` times every
   one; minutes and GBs at the default size);
3. a bare ``index_add_`` lower bound — a single ``index_add`` of M x K rows
   with precomputed indices and weights (the data movement any scatter
   implementation needs) plus its backward gather;
4. with ``--dense``, for context, the dense pixel-level scatter (upsample
   to H x W, then one ``index_add`` over all pixels) — what the area weighting avoids
   materialising (its extra memory is printed).

Superpixels are SLIC maps of real photos (``skimage.data``) resized to the
input size, ~500 per image. Defaults: B=8, K=512, 320x320 input, stride-16
features (20 x 20).

Example::

    python tools/analysis/benchmark_superpixel_pool.py
    python tools/analysis/benchmark_superpixel_pool.py --batch 2 --size 160
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from wsss_mmseg.models.ops.superpixel_pool import (compact_superpixel_ids,
                                                   superpixel_pool)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--channels', type=int, default=512)
    parser.add_argument('--size', type=int, default=320)
    parser.add_argument('--stride', type=int, default=16)
    parser.add_argument('--superpixels', type=int, default=500)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--loop-sample', type=int, default=200,
                        help='superpixels timed in the naive loop (the '
                        'time is scaled to all of them)')
    parser.add_argument('--dense', action='store_true',
                        help='also time the dense pixel-level scatter '
                        '(B x K x H x W upsampled copy; 1.6 GB by default)')
    parser.add_argument('--full-loop', action='store_true',
                        help='time the naive loop on every superpixel')
    return parser.parse_args()


def make_superpixels(batch: int, size: int, n: int) -> torch.Tensor:
    """SLIC superpixels of real photos, (B, size, size) int64."""
    import cv2
    from skimage import data
    from skimage.segmentation import slic
    photos = [data.astronaut(), data.chelsea(), data.coffee(),
              data.rocket(), data.immunohistochemistry()]
    maps = []
    for b in range(batch):
        img = cv2.resize(photos[b % len(photos)], (size, size))
        if b >= len(photos):
            img = img[:, ::-1].copy()
        sp = slic(img, n_segments=n, compactness=10, start_label=0)
        _, sp = np.unique(sp, return_inverse=True)
        maps.append(torch.from_numpy(sp.reshape(size, size)))
    return torch.stack(maps).long()


def timed(fn, repeats):
    fn()  # warm-up
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sp = make_superpixels(args.batch, args.size, args.superpixels)
    grid = args.size // args.stride
    feats = torch.randn(args.batch, args.channels, grid, grid,
                        requires_grad=True)
    ids, batch_idx, num = compact_superpixel_ids(sp)
    print(f'B={args.batch} K={args.channels} input {args.size}x{args.size} '
          f'features {grid}x{grid}; {num} superpixels '
          f'({num / args.batch:.0f} per image); torch threads '
          f'{args.threads}')

    def ours():
        ids_, _, m = compact_superpixel_ids(sp)
        pooled, _ = superpixel_pool(feats, ids_, m)
        pooled.sum().backward()

    # the loop costs the same for every superpixel (one mask over the
    # image, one masked mean, one full-size gradient in backward): time it
    # on a subset and scale linearly, unless --full-loop
    pairs = [(b, i) for b in range(args.batch)
             for i in torch.unique(sp[b]).tolist()]
    subset = pairs if args.full_loop else pairs[::max(
        1, len(pairs) // args.loop_sample)]

    def naive():
        ups = [F.interpolate(feats[b:b + 1], size=(args.size, args.size),
                             mode='nearest')[0] for b in range(args.batch)]
        rows = [ups[b][:, sp[b] == i].mean(1) for b, i in subset]
        torch.stack(rows).sum().backward()

    # precomputed pairs for the bare index_add lower bound
    with torch.no_grad():
        h = w = grid
        cell = F.interpolate(
            torch.arange(h * w, dtype=torch.float64).view(1, 1, h, w),
            size=(args.size, args.size), mode='nearest')[0, 0].long()
        cell = cell + (h * w) * torch.arange(args.batch).view(-1, 1, 1)
        key = ids.flatten() * (args.batch * h * w) + cell.flatten()
        key, count = torch.unique(key, return_counts=True)
        pair_seg = key // (args.batch * h * w)
        pair_cell = key % (args.batch * h * w)
        area = torch.zeros(num, dtype=torch.long).index_add_(0, pair_seg,
                                                             count)
        weight = (count / area[pair_seg]).float().unsqueeze(1)
    rows = torch.randn(len(pair_seg), args.channels, requires_grad=True)

    def bare():
        out = torch.zeros(num, args.channels)
        out = out.index_add(0, pair_seg, rows * weight)
        out.sum().backward()

    def dense():
        up = F.interpolate(feats, size=(args.size, args.size),
                           mode='nearest')
        flat = up.permute(0, 2, 3, 1).reshape(-1, args.channels)
        out = torch.zeros(num, args.channels).index_add(
            0, ids.flatten(), flat)
        (out / area.unsqueeze(1)).sum().backward()

    t_ours = timed(ours, args.repeats)
    t_bare = timed(bare, args.repeats)
    t_dense = timed(dense, 1) if args.dense else None
    t_naive = timed(naive, 1) * len(pairs) / len(subset)
    dense_mb = args.batch * args.channels * args.size ** 2 * 4 / 2 ** 20
    print(f'{"method (forward + backward)":48s} {"ms":>10s} {"vs ours":>9s}')
    loop_name = ('per-superpixel loop (naive)' if args.full_loop else
                 f'per-superpixel loop (naive, {len(subset)}/{len(pairs)} '
                 'timed, scaled)')
    for name, t in [('superpixel_pool (ours, incl. id compaction)', t_ours),
                    (loop_name, t_naive),
                    ('bare index_add_ of M x K rows (lower bound)', t_bare),
                    ('dense pixel index_add (upsampled copy)', t_dense)]:
        if t is None:
            continue
        print(f'{name:48s} {1000 * t:10.1f} {t / t_ours:9.2f}x')
    print(f'speed-up over the per-superpixel loop: {t_naive / t_ours:.1f}x '
          '(target >= 20x)')
    print(f'overhead over the bare index_add_ bound: {t_ours / t_bare:.1f}x')
    print(f'pairs (superpixel, cell): {len(pair_seg)}; the dense variant '
          f'materialises {dense_mb:.0f} MiB of upsampled features, ours '
          f'{len(pair_seg) * args.channels * 4 / 2 ** 20:.0f} MiB of rows')


if __name__ == '__main__':
    main()
