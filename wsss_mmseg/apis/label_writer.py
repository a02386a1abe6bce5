"""The CRF / post-processing / writing stage of the pseudo-label engine,
in this process or in a process pool (``crf_workers``)."""
import multiprocessing as mp
import os
import time
from collections import deque
from typing import Callable, Dict, Optional

import mmcv
import numpy as np
import torch

from wsss_mmseg.models.ops.dense_crf import dense_crf, expand_channels
from .label_io import write_label_png, write_scores_npz

# State of a pool worker, set once per pool by its initializer.
_WORKER_STATE: Dict = {}


def _init_worker(state: Dict) -> None:
    """Pool initializer: keep the run's settings in the worker process."""
    torch.set_num_threads(1)
    _WORKER_STATE.clear()
    _WORKER_STATE.update(state)


def finish_image(job: Dict, state: Optional[Dict] = None) -> Dict:
    """CRF, post-processing and atomic writes of one image.

    Args:
        job (dict): ``scores``: (C, H, W) float32 scores as
            :func:`~wsss_mmseg.models.ops.dense_crf.compact_channels`
            splits them, plus C; ``info`` (see
            :class:`BaseLabelPostprocessor`); ``png`` and ``npz`` paths.
        state (dict, optional): ``crf`` (params or None), ``postprocess``
            (callable) and ``score_dtype``; the worker's state by default.

    Returns:
        dict: ``name`` and ``seconds`` spent.
    """
    state = _WORKER_STATE if state is None else state
    start = time.perf_counter()
    info = job['info']
    try:
        scores = expand_channels(*job['scores'])
        if job.get('npz'):
            labels = info.get('img_labels')
            classes = (np.flatnonzero(labels > 0)
                       if labels is not None else np.arange(len(scores)))
            write_scores_npz(job['npz'], scores, classes,
                             state['score_dtype'])
        if state['crf']:
            image = mmcv.imread(info['img_path'], channel_order='rgb')
            if image is None:
                raise FileNotFoundError('can not read the image for the CRF')
            if image.shape[:2] != scores.shape[1:]:
                image = mmcv.imresize(image,
                                      (scores.shape[2], scores.shape[1]))
            scores = dense_crf(
                np.ascontiguousarray(image), scores, **state['crf'])
        label = np.asarray(state['postprocess'](scores, info))
        if label.shape != scores.shape[1:]:
            raise ValueError(f'the post-processor returned a label map of '
                             f'shape {label.shape}, expected '
                             f'{scores.shape[1:]}')
        write_label_png(job['png'], label)
    except Exception as e:
        raise RuntimeError(
            f"pseudo label of {info['img_path']} failed: "
            f'{type(e).__name__}: {e}') from e
    return dict(name=info['name'], seconds=time.perf_counter() - start)


class LabelWriter:
    """Run :func:`finish_image` on submitted jobs, in order of submission.

    With ``num_workers > 0`` the jobs go to a process pool (``fork`` where
    available) and at most ``max_pending`` wait there: ``submit`` blocks on
    the oldest beyond that, so the model never runs far ahead of the
    writers. While the pool runs, this process keeps only the torch threads
    of the cores the pool leaves in its rank's share (at least 1): more
    threads waited on descheduled ones (a 10 ms tensor copy per image,
    tools/analysis/benchmark_crf.py). Leaving the ``with`` block drains the
    pool, or terminates it on an error, and restores the threads.

    Args:
        state (dict): See :func:`finish_image`.
        num_workers (int): Pool size; 0 runs the jobs in this process.
        on_done (callable): Called with each job's result, in order.
        max_pending (int, optional): Default ``4 * num_workers``.
        world_size (int): Ranks sharing this machine's cores. Default 1.
    """

    def __init__(self,
                 state: Dict,
                 num_workers: int,
                 on_done: Callable[[Dict], None],
                 max_pending: Optional[int] = None,
                 world_size: int = 1) -> None:
        self.state = state
        self.num_workers = num_workers
        self.on_done = on_done
        self.max_pending = max_pending or 4 * max(num_workers, 1)
        self.world_size = max(world_size, 1)
        self.pool = None
        self.pending = deque()

    def __enter__(self) -> 'LabelWriter':
        self._threads = torch.get_num_threads()
        if self.num_workers > 0:
            methods = mp.get_all_start_methods()
            ctx = mp.get_context('fork' if 'fork' in methods else None)
            self.pool = ctx.Pool(
                self.num_workers,
                initializer=_init_worker,
                initargs=(self.state, ))
            share = max(1, (os.cpu_count() or 1) // self.world_size)
            torch.set_num_threads(
                max(1, min(self._threads, share - self.num_workers)))
        return self

    def submit(self, job: Dict) -> None:
        """Queue one image's job (or run it now without a pool)."""
        if self.pool is None:
            self.on_done(finish_image(job, self.state))
            return
        self.pending.append(self.pool.apply_async(finish_image, (job, )))
        while len(self.pending) >= self.max_pending:
            self.on_done(self.pending.popleft().get())

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.pool is None:
            return
        try:
            if exc_type is None:
                while self.pending:
                    self.on_done(self.pending.popleft().get())
        finally:
            self.pool.terminate() if self.pending else self.pool.close()
            self.pool.join()
            torch.set_num_threads(self._threads)
