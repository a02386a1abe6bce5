"""Fully connected CRF (Krähenbühl & Koltun, NeurIPS 2011) via pydensecrf2.

Each method keeps its own parameters in its config (methods.md §0.2):

=========================  =====  ==================  ======================
use                        iters  gaussian (sxy, w)   bilateral (sxy, rgb, w)
=========================  =====  ==================  ======================
PSA confident regions      10     (3, 3)              (80, 13, 10)
ViT-PCM / APC final masks  10     (1, 3)              (67, 3, 4)
=========================  =====  ==================  ======================

Classes whose score is zero at every pixel (absent after restriction to the
image-level labels) are left out of the inference by default
(``skip_absent``), as the PSA code does by stacking the present classes only:
with 3 of 21 VOC classes present this halves the time per image, and an
absent class can no longer win the pixels where every score is clipped.

The CRF runs on CPU; :func:`dense_crf_batch` spreads a batch of images over
a process pool, shipping only the non-zero channels between processes.
"""
import multiprocessing as mp
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# ViT-PCM / APC parameters; PSA's are set in its configs.
DEFAULT_CRF_PARAMS: Dict = dict(
    n_iter=10,
    pos_xy_std=1,
    pos_w=3,
    bi_xy_std=67,
    bi_rgb_std=3,
    bi_w=4,
    normalize=False,
    skip_absent=True)


def dense_crf(image: np.ndarray,
              scores: np.ndarray,
              n_iter: int = 10,
              pos_xy_std: float = 1,
              pos_w: float = 3,
              bi_xy_std: float = 67,
              bi_rgb_std: float = 3,
              bi_w: float = 4,
              normalize: bool = False,
              skip_absent: bool = True,
              clip: float = 1e-5) -> np.ndarray:
    """Mean-field inference of a dense CRF on one image.

    Unary: ``psi_u(x_i = c) = -log(clip(s_c(i), clip, 1))``. With
    ``normalize=False`` the scores go into the unary as they are, which is
    what PSA does with its un-normalised [bg; CAM] stacks; ``normalize=True``
    first divides by the per-pixel sum. Pairwise: a Gaussian smoothness
    kernel ``pos_w * exp(-|p_i - p_j|^2 / (2 pos_xy_std^2))`` plus a
    bilateral appearance kernel with ``bi_xy_std``, ``bi_rgb_std``, ``bi_w``.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        scores (np.ndarray): (C, H, W) non-negative class scores.
        n_iter (int): Mean-field iterations.
        normalize (bool): Renormalise ``scores`` over classes first.
        skip_absent (bool): Run the inference on the classes with a
            non-zero score somewhere only; the others get marginal 0. With
            no such class, or with False, every class takes part.
        clip (float): Lower clip of the scores before the log.

    Returns:
        np.ndarray: (C, H, W) float32 marginals (sum to 1 over C).
    """
    _check_inputs(image, scores)
    num_classes = len(scores)
    if skip_absent:
        keep, values = compact_channels(scores)
    else:
        keep, values = np.arange(num_classes), scores
    keep, marginals = _crf_on_channels(
        image, keep, values, num_classes, n_iter=n_iter,
        pos_xy_std=pos_xy_std, pos_w=pos_w, bi_xy_std=bi_xy_std,
        bi_rgb_std=bi_rgb_std, bi_w=bi_w, normalize=normalize, clip=clip)
    if len(keep) == num_classes:
        return marginals
    return expand_channels(keep, marginals, num_classes)


def _check_inputs(image: np.ndarray, scores: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError('dense_crf expects an (H, W, 3) uint8 RGB image, got '
                         f'{image.shape} {image.dtype}')
    if scores.ndim != 3 or scores.shape[1:] != image.shape[:2]:
        raise ValueError(f'dense_crf: scores of shape {scores.shape} do not '
                         f'match the image size {image.shape[:2]}')
    if not np.isfinite(scores).all():
        raise ValueError('dense_crf: scores contain NaN or inf')


def _crf_on_channels(image: np.ndarray, keep: np.ndarray, values: np.ndarray,
                     num_classes: int, n_iter: int, pos_xy_std: float,
                     pos_w: float, bi_xy_std: float, bi_rgb_std: float,
                     bi_w: float, normalize: bool,
                     clip: float) -> Tuple[np.ndarray, np.ndarray]:
    """The CRF over the channels ``keep`` of a C-class score map.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        keep (np.ndarray): (K,) indices of the channels given.
        values (np.ndarray): (K, H, W) scores of those channels.
        num_classes (int): C; with K = 0 all C classes take part, with
            uniform scores.

    Returns:
        tuple[np.ndarray, np.ndarray]: the channels (K',) of the marginals
        and the marginals (K', H, W) float32.
    """
    import pydensecrf.densecrf as dcrf

    h, w = image.shape[:2]
    if len(keep) == 0:
        keep = np.arange(num_classes)
        values = np.zeros((num_classes, h, w), np.float32)
    if len(keep) == 1:  # one label: its marginal is 1 everywhere
        return keep, np.ones((1, h, w), np.float32)
    probs = values.astype(np.float32, copy=False)
    if normalize:
        probs = probs / np.maximum(probs.sum(0, keepdims=True), 1e-12)
    unary = -np.log(np.clip(probs, clip, 1.0)).reshape(len(keep), -1)
    crf = dcrf.DenseCRF2D(w, h, len(keep))
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=pos_xy_std, compat=pos_w)
    crf.addPairwiseBilateral(
        sxy=bi_xy_std,
        srgb=bi_rgb_std,
        rgbim=np.ascontiguousarray(image),
        compat=bi_w)
    marginals = crf.inference(n_iter)
    return keep, np.asarray(marginals, np.float32).reshape(len(keep), h, w)


def compact_channels(array: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Split a (C, H, W) array into its non-zero channels.

    Score maps restricted to the image-level labels are mostly zero
    channels; shipping only the others keeps inter-process copies small.

    Args:
        array (np.ndarray): (C, H, W) array.

    Returns:
        tuple[np.ndarray, np.ndarray]: indices (K,) of the channels with a
        non-zero value, and those channels (K, H, W).
    """
    keep = np.flatnonzero(array.reshape(len(array), -1).any(1))
    return keep, np.ascontiguousarray(array[keep])


def expand_channels(keep: np.ndarray, values: np.ndarray,
                    num_channels: int) -> np.ndarray:
    """Inverse of :func:`compact_channels`.

    Args:
        keep (np.ndarray): (K,) channel indices.
        values (np.ndarray): (K, H, W) channels.
        num_channels (int): C.

    Returns:
        np.ndarray: (C, H, W), zero outside ``keep``.
    """
    out = np.zeros((num_channels, ) + values.shape[1:], values.dtype)
    out[keep] = values
    return out


# inputs of the dense_crf_batch call a pool worker serves
_BATCH: Dict = {}


def _crf_job(index: int, params: Dict) -> Tuple[np.ndarray, np.ndarray]:
    """Pool task: the marginals of the non-zero (or all) channels of image
    ``index`` of the batch."""
    image, scores = _BATCH['images'][index], _BATCH['scores'][index]
    params = dict(params)
    if params.pop('skip_absent'):
        keep, values = compact_channels(scores)
    else:
        keep, values = np.arange(len(scores)), scores
    _check_inputs(image, values)
    return _crf_on_channels(image, keep, values, len(scores), **params)


def dense_crf_batch(images: Sequence[np.ndarray],
                    scores: Sequence[np.ndarray],
                    num_workers: Optional[int] = None,
                    **params) -> List[np.ndarray]:
    """Run :func:`dense_crf` over many images in a process pool.

    Each worker receives the batch once (inherited memory under ``fork``);
    a task is an image index, and with ``skip_absent`` (the default) only
    the marginals of the non-zero channels come back.

    Args:
        images (list[np.ndarray]): (H_i, W_i, 3) uint8 RGB images.
        scores (list[np.ndarray]): (C, H_i, W_i) class scores, one per image.
        num_workers (int, optional): Pool size; None = the machine's cores,
            0 or 1 = run in this process.
        **params: Keyword arguments of :func:`dense_crf`.

    Returns:
        list[np.ndarray]: (C, H_i, W_i) marginals, in input order.
    """
    if len(images) != len(scores):
        raise ValueError(f'{len(images)} images but {len(scores)} score maps')
    if num_workers is None:
        num_workers = mp.cpu_count()
    num_workers = min(num_workers, len(images))
    if num_workers <= 1:
        return [dense_crf(i, s, **params) for i, s in zip(images, scores)]
    fn = partial(_crf_job, params=dict(_default_params(), **params))
    # the inputs reach each worker once, through the pool initializer (one
    # pickle per worker under spawn)
    methods = mp.get_all_start_methods()
    ctx = mp.get_context('fork' if 'fork' in methods else None)
    with ctx.Pool(
            num_workers, initializer=_set_batch,
            initargs=(images, scores)) as pool:
        return [
            values if len(keep) == len(s) else expand_channels(
                keep, values, len(s))
            for (keep, values), s in zip(
                pool.imap(fn, range(len(images))), scores)
        ]


def _set_batch(images: Sequence[np.ndarray],
               scores: Sequence[np.ndarray]) -> None:
    """Pool initializer: the batch a worker's tasks index into."""
    _BATCH.update(images=images, scores=scores)


def _default_params() -> Dict:
    """The keyword defaults of :func:`dense_crf`."""
    import inspect
    sig = inspect.signature(dense_crf)
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if p.default is not inspect.Parameter.empty
    }
