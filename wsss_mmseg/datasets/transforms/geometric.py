"""Square geometric transforms: resize to a square without keeping the
aspect ratio (ViT-PCM/APC), pad to a square and random square sizes (SPN).

All of them act on every key of ``results['seg_fields']`` (``gt_seg_map``,
``gt_superpixels``, ...) with nearest interpolation, so dense annotations
stay aligned with the image.
"""
import random
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from wsss_mmseg.registry import TRANSFORMS

SUPERPIXEL_KEY = 'gt_superpixels'


def resize_to_square(results: dict, size: int, interpolation: str,
                     backend: str = 'cv2') -> dict:
    """Resize ``img`` and all ``seg_fields`` to ``size`` x ``size``.

    Args:
        results (dict): Transform results with ``img`` (H, W, C).
        size (int): Output side.
        interpolation (str): Image interpolation ('bilinear', 'bicubic'...);
            seg fields always use 'nearest'.
        backend (str): mmcv resize backend.

    Returns:
        dict: ``results`` with ``img`` (size, size, C), seg fields
        (size, size), ``img_shape``, ``scale``, ``scale_factor`` (w, h) and
        ``keep_ratio=False`` updated.
    """
    img = results['img']
    h, w = img.shape[:2]
    results['img'] = mmcv.imresize(
        img, (size, size), interpolation=interpolation, backend=backend)
    for key in results.get('seg_fields', []):
        if results.get(key) is not None:
            results[key] = mmcv.imresize(
                results[key], (size, size), interpolation='nearest',
                backend=backend)
    results['img_shape'] = (size, size)
    results['scale'] = (size, size)
    old = results.get('scale_factor', (1.0, 1.0))
    results['scale_factor'] = (old[0] * size / w, old[1] * size / h)
    results['keep_ratio'] = False
    return results


@TRANSFORMS.register_module()
class SquareResize(BaseTransform):
    """Resize to ``size`` x ``size`` without keeping the aspect ratio.

    Required Keys: img, seg_fields (optional). Modified Keys: img, every
    seg field (nearest), img_shape. Added Keys: scale, scale_factor
    (w_scale, h_scale, cumulative), keep_ratio (False).

    Args:
        size (int): Output side in pixels.
        interpolation (str): Image interpolation. Default 'bilinear'.
        backend (str): 'cv2' or 'pillow'. Default 'cv2'.
    """

    def __init__(self,
                 size: int,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        if int(size) <= 0:
            raise ValueError(f'SquareResize: size must be > 0, got {size}')
        self.size = int(size)
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        return resize_to_square(results, self.size, self.interpolation,
                                self.backend)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class RandomSquareResize(BaseTransform):
    """Resize to a square side drawn uniformly from ``sizes``.

    SPN trains on {250, 300, 350, 400, 450, 500}^2 after padding the image
    to a square (``PadToSquare`` then this transform). Aspect ratio is not
    kept; seg fields use nearest interpolation.

    Required/Modified/Added Keys: as :class:`SquareResize`.

    Args:
        sizes (Sequence[int]): Candidate sides, e.g. ``range(250, 501, 50)``.
        interpolation (str): Image interpolation. Default 'bilinear'.
        backend (str): 'cv2' or 'pillow'. Default 'cv2'.
    """

    def __init__(self,
                 sizes: Sequence[int],
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        sizes = [int(s) for s in sizes]
        if not sizes or min(sizes) <= 0:
            raise ValueError('RandomSquareResize: sizes must be a non-empty '
                             f'list of positive ints, got {sizes}')
        self.sizes = sizes
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: dict) -> dict:
        size = random.choice(self.sizes)
        return resize_to_square(results, size, self.interpolation,
                                self.backend)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sizes={self.sizes}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class PadToSquare(BaseTransform):
    """Pad the bottom and right of an image to a square of its long side.

    Padding values: ``pad_val`` for the image (default 0, i.e. black before
    normalisation), ``seg_pad_val`` for label maps (default 255, ignored by
    the losses and the metric), and for ``gt_superpixels``:

    - ``superpixel_pad='new_id'`` (default): the padding becomes one extra
      superpixel with id N (the map stays contiguous 0..N, and the padding is
      pooled separately from the image content);
    - ``superpixel_pad=-1``: the padding gets id -1, for consumers that mask
      negative ids out.

    Required Keys: img, seg_fields (optional). Modified Keys: img, every seg
    field, img_shape. Added Keys: pad_shape, pad_to_square (the
    (top, bottom, left, right) padding in pixels).

    Args:
        pad_val (float | Sequence[float]): Image padding value. Default 0.
        seg_pad_val (int): Label padding value. Default 255.
        superpixel_pad (str | int): 'new_id' or -1 (see above).
    """

    def __init__(self,
                 pad_val: Union[float, Sequence[float]] = 0,
                 seg_pad_val: int = 255,
                 superpixel_pad: Union[str, int] = 'new_id') -> None:
        if superpixel_pad not in ('new_id', -1):
            raise ValueError("PadToSquare: superpixel_pad must be 'new_id' "
                             f'or -1, got {superpixel_pad!r}')
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.superpixel_pad = superpixel_pad

    @staticmethod
    def _pad(arr: np.ndarray, shape: Tuple[int, int],
             value: Union[float, Sequence[float]]) -> np.ndarray:
        h, w = arr.shape[:2]
        out = np.empty(shape + arr.shape[2:], dtype=arr.dtype)
        out[...] = value
        out[:h, :w] = arr
        return out

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        side = max(h, w)
        shape = (side, side)
        if (h, w) != shape:
            results['img'] = self._pad(img, shape, self.pad_val)
            for key in results.get('seg_fields', []):
                seg = results.get(key)
                if seg is None:
                    continue
                if key == SUPERPIXEL_KEY:
                    value = (int(seg.max()) + 1 if self.superpixel_pad
                             == 'new_id' else -1)
                else:
                    value = self.seg_pad_val
                results[key] = self._pad(seg, shape, value)
        results['img_shape'] = shape
        results['pad_shape'] = shape
        results['pad_to_square'] = (0, side - h, 0, side - w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(pad_val={self.pad_val}, '
                f'seg_pad_val={self.seg_pad_val}, '
                f'superpixel_pad={self.superpixel_pad!r})')
