"""Loading of cached superpixel maps (SPN, methods.md §1.2)."""
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from wsss_mmseg.registry import TRANSFORMS


def read_superpixels(path: str) -> np.ndarray:
    """Read a cached superpixel map: 16-bit/8-bit PNG or int32 ``.npy``.

    Args:
        path (str): ``.png`` or ``.npy`` file.

    Returns:
        np.ndarray: (H, W) int32 ids.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'superpixel file not found: {path} (compute the cache with '
            'tools/dataset_converters/make_superpixels.py)')
    try:
        if path.endswith('.npy'):
            sp = np.load(path, allow_pickle=False)
        else:
            with Image.open(path) as im:
                sp = np.array(im)
    except Exception as e:
        raise ValueError(f'corrupt superpixel file {path}: '
                         f'{type(e).__name__}: {e}') from e
    if sp.ndim != 2 or not np.issubdtype(sp.dtype, np.integer):
        raise ValueError(
            f'superpixel file {path} must hold a 2-D integer map, found '
            f'{sp.dtype} {sp.shape}')
    return sp.astype(np.int32)


@TRANSFORMS.register_module()
class LoadSuperpixels(BaseTransform):
    """Load a cached superpixel map into ``results['gt_superpixels']``.

    The file is ``data_info['superpixel_path']`` (the dataset builds it from
    ``data_prefix.superpixel_path``), or ``<superpixel_dir>/<img_id><suffix>``
    when ``superpixel_dir`` is given (relative to the sample's
    ``data_root``). The map is listed in ``seg_fields`` so that mmseg's
    RandomFlip, RandomCrop, Resize and our geometric transforms keep it
    aligned with the image (nearest interpolation).

    Superpixels are computed on the original image: the map must be
    ``ori_shape``; if the image was resized already, the map is resized to
    ``img_shape`` (nearest). Ids must be contiguous ``0..N-1``: a map with
    gaps or negative ids (a stale cache, another algorithm's output) raises
    an error naming the file.

    Required Keys: superpixel_path or (img_id, data_root); ori_shape.

    Added Keys: gt_superpixels (np.ndarray): (H, W) int32; seg_fields.

    Args:
        superpixel_dir (str, optional): Cache folder (see above).
        suffix (str, optional): File suffix with ``superpixel_dir``; default
            ``.png``, then ``.npy`` if no PNG exists.
        check_contiguous (bool): Check ids 0..N-1. Default True.
    """

    def __init__(self,
                 superpixel_dir: Optional[str] = None,
                 suffix: Optional[str] = None,
                 check_contiguous: bool = True) -> None:
        self.superpixel_dir = superpixel_dir
        self.suffix = suffix
        self.check_contiguous = check_contiguous

    def _path(self, results: dict) -> str:
        if self.superpixel_dir is None:
            if 'superpixel_path' not in results:
                raise KeyError(
                    'LoadSuperpixels: no superpixel_path for '
                    f'{results.get("img_path", "?")}; set the dataset\'s '
                    'data_prefix.superpixel_path or '
                    'LoadSuperpixels(superpixel_dir=...)')
            return results['superpixel_path']
        folder = self.superpixel_dir
        if not osp.isabs(folder) and results.get('data_root'):
            folder = osp.join(results['data_root'], folder)
        img_id = results.get('img_id') or osp.splitext(
            osp.basename(results['img_path']))[0]
        suffixes: List[str] = [self.suffix] if self.suffix else [
            '.png', '.npy'
        ]
        for sfx in suffixes:
            path = osp.join(folder, img_id + sfx)
            if osp.isfile(path):
                return path
        return osp.join(folder, img_id + suffixes[0])

    def transform(self, results: dict) -> dict:
        path = self._path(results)
        sp = read_superpixels(path)
        ori = results.get('ori_shape')
        if ori is not None and tuple(sp.shape) != tuple(ori[:2]):
            raise ValueError(
                f'superpixel map {path} is {sp.shape[0]}x{sp.shape[1]} (HxW) '
                f'but image {results.get("img_path", "?")} is '
                f'{ori[0]}x{ori[1]}: stale cache? recompute it')
        if self.check_contiguous:
            lo, hi = int(sp.min()), int(sp.max())
            present = np.bincount((sp - lo).ravel()) > 0 if lo >= 0 else None
            if lo != 0 or not present.all():
                missing = (np.flatnonzero(~present)[:5].tolist()
                           if present is not None else [])
                raise ValueError(
                    f'superpixel map {path} must have contiguous ids 0..N-1; '
                    f'found min {lo}, max {hi}'
                    + (f', missing ids {missing}' if missing else '') +
                    ' (stale or foreign cache? recompute it)')
        img_shape = results.get('img_shape')
        if img_shape is not None and tuple(img_shape[:2]) != sp.shape:
            sp = mmcv.imresize(
                sp, (img_shape[1], img_shape[0]), interpolation='nearest')
        results['gt_superpixels'] = sp
        fields = results.setdefault('seg_fields', [])
        if 'gt_superpixels' not in fields:
            fields.append('gt_superpixels')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'superpixel_dir={self.superpixel_dir!r}, '
                f'suffix={self.suffix!r})')
