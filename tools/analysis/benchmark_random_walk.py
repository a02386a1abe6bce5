#!/usr/bin/env python
"""Time and peak memory of PSA's random walk: sparse (ours) vs dense.

Ours (:func:`wsss_mmseg.models.ops.random_walk.random_walk`) never forms the
N x N matrix; its three methods are measured: ``chebyshev`` (the default:
matrix-free stencil operator, T^t as a truncated Chebyshev expansion),
``stencil`` (the same operator applied ``2^logt`` times) and ``csr`` (an
explicit CSR matrix, <= 69 non-zeros per row, applied ``2^logt`` times).
The reference (:func:`~wsss_mmseg.models.ops.random_walk.random_walk_dense`)
is the authors' procedure, squaring the dense N x N matrix ``logt`` times.
All run in this process on the same random affinities; the script prints
the time, the peak memory allocated by torch during the call, the ratios
to the dense reference and the max abs difference of the results. Targets
(PSA issue, item 6): at a 63x47 grid with 21 channels the default >= 20x
faster and >= 50x less memory than dense, max abs difference <= 1e-4; at
80x80 the default alone < 1 GB.

Peak memory on CPU is the running maximum of the bytes allocated minus
freed by torch's allocator during the call (torch.profiler memory events);
on CUDA, ``torch.cuda.max_memory_allocated`` above the starting level. The
same function measures every method and the reference.

Example::

    python tools/analysis/benchmark_random_walk.py
    python tools/analysis/benchmark_random_walk.py --device cuda --repeat 5
"""
import argparse
import os
import time

import torch
from torch.profiler import ProfilerActivity, profile

from wsss_mmseg.models.ops.affinity import pair_counts
from wsss_mmseg.models.ops.random_walk import (RANDOM_WALK_METHODS,
                                               random_walk,
                                               random_walk_dense)


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
          f'{torch.get_num_threads()} threads, load average before '
          f'{os.getloadavg()[0]:.2f}')

    scores, aff = make_inputs(63, 47, 21, device)
    n = 63 * 47
    ref, t_ref = timed(lambda: random_walk_dense(scores, aff, **kw), device,
                       1)
    _, m_ref = peak_memory(lambda: random_walk_dense(scores, aff, **kw),
                           device)
    rows = []
    for method in RANDOM_WALK_METHODS:
        def run(method=method):
            return random_walk(scores, aff, method=method, **kw)

        out, t_ours = timed(run, device, args.repeat)
        _, m_ours = peak_memory(run, device)
        diff = (out - ref).abs().max().item()
        rows.append((method, t_ours, m_ours, diff))
    print(f'\ngrid 63x47 (N = {n}), 21 channels')
    print('| method | time (s) | peak memory (MB) | speed-up | memory ratio '
          '| max abs diff |')
    print('|---|---|---|---|---|---|')
    print(f'| dense squaring (authors) | {t_ref:.3f} | {m_ref / 2**20:.2f} '
          '| 1.0x | 1.0x | - |')
    for method, t_ours, m_ours, diff in rows:
        print(f'| {method} (ours) | {t_ours:.3f} | {m_ours / 2**20:.2f} | '
              f'{t_ref / t_ours:.1f}x | {m_ref / max(m_ours, 1):.1f}x | '
              f'{diff:.2e} |')
    method, t_ours, m_ours, diff = rows[0]
    speed, memory = t_ref / t_ours, m_ref / max(m_ours, 1)
    print(f'\ndefault method {method!r}: speed-up {speed:.1f}x (target >= '
          f'20x: {"met" if speed >= 20 else "NOT met"}), memory ratio '
          f'{memory:.1f}x (target >= 50x: '
          f'{"met" if memory >= 50 else "NOT met"}), max abs difference '
          f'{diff:.2e} (target <= 1e-4: '
          f'{"met" if diff <= 1e-4 else "NOT met"})')
    k, n_src = pair_counts(63, 47)
    print(f'floors: dense squaring holds two N x N float32 matrices '
          f'({2 * n * n * 4 / 2**20:.1f} MB); the CSR matrix alone is 8 '
          f'bytes per non-zero ({8 * (2 * k * n_src + n) / 2**20:.2f} MB); '
          f'the stencil operator {4 * k * n_src / 2**20:.2f} MB of pair '
          f'weights, plus two (C, N) maps ({2 * 21 * n * 4 / 2**20:.2f} MB)'
          f' for every method')

    scores, aff = make_inputs(80, 80, 21, device)
    _, t_big = timed(lambda: random_walk(scores, aff, **kw), device, 1)
    _, m_big = peak_memory(lambda: random_walk(scores, aff, **kw), device)
    print(f'\ngrid 80x80 (N = 6400), 21 channels, default method only: '
          f'{t_big:.3f} s, peak {m_big / 2**20:.2f} MB (target < 1024 MB: '
          f'{"met" if m_big < 2**30 else "NOT met"}; dense would need '
          f'>= {2 * 6400**2 * 4 / 2**20:.0f} MB)')
    print(f'load average after {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
