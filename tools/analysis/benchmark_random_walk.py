#!/usr/bin/env python
"""Time and peak memory of PSA's random walk: sparse (ours) vs dense.

Ours (:func:`wsss_mmseg.models.ops.random_walk.random_walk`) applies the
row-normalised transition matrix as a sparse CSR operator (<= 69 non-zeros
per row) ``2^logt`` times; the reference
(:func:`~wsss_mmseg.models.ops.random_walk.random_walk_dense`) is the
authors' procedure, squaring the dense N x N matrix ``logt`` times. Both run
in this process on the same random affinities; the script prints the time,
the peak memory allocated by torch during the call and the ratios, plus the
max abs difference of the results. Targets (issue 5): at a 63x47 grid with
21 channels ours >= 20x faster and >= 50x less memory; at 80x80 ours alone
< 1 GB.

Peak memory on CPU is the running maximum of the bytes allocated minus
freed by torch's allocator during the call (torch.profiler memory events);
on CUDA, ``torch.cuda.max_memory_allocated`` above the starting level.

Example::

    python tools/analysis/benchmark_random_walk.py
    python tools/analysis/benchmark_random_walk.py --device cuda --repeat 5
"""
import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from wsss_mmseg.models.ops.affinity import pair_counts
from wsss_mmseg.models.ops.random_walk import random_walk, random_walk_dense


def make_inputs(height, width, channels, device, seed=0):
    """Random scores (1, C, H, W) and affinities (1, 34, Hs, Ws) in (0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    k, n_src = pair_counts(height, width)
    hs = height - 4
    aff = torch.rand(1, k, hs, n_src // hs, generator=gen)
    scores = torch.rand(1, channels, height, width, generator=gen)
    return scores.to(device), aff.to(device)


def peak_memory(fn, device):
    """(result, peak bytes allocated during ``fn()``)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        out = fn()
        torch.cuda.synchronize(device)
        return out, torch.cuda.max_memory_allocated(device) - start
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        out = fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    current = peak = 0
    for event in events:
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return out, peak


def timed(fn, device, repeat):
    """(result, best wall time in seconds over ``repeat`` runs)."""
    best = float('inf')
    out = None
    for _ in range(repeat):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return out, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=3,
                        help='timing runs of ours (best is reported); the '
                        'dense reference runs once')
    parser.add_argument('--beta', type=float, default=8.0)
    parser.add_argument('--logt', type=int, default=8)
    args = parser.parse_args()
    device = torch.device(args.device)
    kw = dict(beta=args.beta, logt=args.logt)
    print(f'random walk: beta {args.beta}, t = 2^{args.logt} = '
          f'{2**args.logt} steps, radius 5, device {device}, '
          f'{torch.get_num_threads()} threads')

    scores, aff = make_inputs(63, 47, 21, device)
    n = 63 * 47
    ours, t_ours = timed(lambda: random_walk(scores, aff, **kw), device,
                         args.repeat)
    ref, t_ref = timed(lambda: random_walk_dense(scores, aff, **kw), device,
                       1)
    _, m_ours = peak_memory(lambda: random_walk(scores, aff, **kw), device)
    _, m_ref = peak_memory(lambda: random_walk_dense(scores, aff, **kw),
                           device)
    diff = (ours - ref).abs().max().item()
    print(f'\ngrid 63x47 (N = {n}), 21 channels')
    print('| method | time (s) | peak memory (MB) |')
    print('|---|---|---|')
    print(f'| dense squaring (authors) | {t_ref:.3f} | {m_ref / 2**20:.2f} |')
    print(f'| sparse CSR (ours) | {t_ours:.3f} | {m_ours / 2**20:.2f} |')
    print(f'\nspeed-up {t_ref / t_ours:.1f}x (target >= 20x), memory ratio '
          f'{m_ref / max(m_ours, 1):.1f}x (target >= 50x), max abs '
          f'difference {diff:.2e} (target <= 1e-4)')
    print(f'lower bounds: dense squaring holds two N x N float32 matrices '
          f'({2 * n * n * 4 / 2**20:.1f} MB); the CSR operator alone is '
          f'8 bytes per non-zero ({8 * 69 * n / 2**20:.2f} MB at most)')

    scores, aff = make_inputs(80, 80, 21, device)
    _, t_big = timed(lambda: random_walk(scores, aff, **kw), device, 1)
    _, m_big = peak_memory(lambda: random_walk(scores, aff, **kw), device)
    print(f'\ngrid 80x80 (N = 6400), 21 channels, ours only: {t_big:.3f} s,'
          f' peak {m_big / 2**20:.2f} MB (target < 1024 MB; dense would need '
          f'>= {2 * 6400**2 * 4 / 2**20:.0f} MB)')


if __name__ == '__main__':
    main()
