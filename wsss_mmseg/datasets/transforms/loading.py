"""Loading transforms for weak supervision: checked image and mask loading
and image-level labels (cached superpixels: ``superpixel_loading.py``).

``LoadImageFromFile`` and ``LoadAnnotations`` are registered in the
``wsss_mmseg`` scope under mmcv's/mmseg's own names, so every config with
``default_scope='wsss_mmseg'`` gets the checked versions below without
changing its pipeline; their outputs are identical to the stock ones. From
another scope they are ``wsss_mmseg.LoadImageFromFile`` etc.
"""
import io
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations as MMSegLoadAnnotations
from PIL import Image

from wsss_mmseg.registry import TRANSFORMS

IGNORE_INDEX = 255


def _read_bytes(path: str, what: str, backend_args: Optional[dict]) -> bytes:
    """File bytes, with a FileNotFoundError naming ``what`` and the path."""
    try:
        return fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'{what} file not found: {path}') from e


def _check_jpeg_complete(data: bytes, path: str) -> None:
    """Raise if a JPEG stream lacks its start or end-of-image marker."""
    if not data.startswith(b'\xff\xd8'):
        raise ValueError(f'corrupt image {path}: not a JPEG stream '
                         '(missing start-of-image marker)')
    if b'\xff\xd9' in data[-64:]:
        return
    # No end marker near the end: either trailing bytes after a complete
    # image (accepted) or a truncated file (Pillow refuses to decode it).
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as e:
        raise ValueError(f'corrupt image {path}: truncated JPEG ({e}); '
                         're-download or re-encode it') from e


@TRANSFORMS.register_module(name='LoadImageFromFile')
@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with clear errors on bad files.

    Registered as ``LoadImageFromFile`` in the ``wsss_mmseg`` scope.

    Required Keys: img_path. Added Keys: img (np.ndarray, (H, W, 3) BGR
    uint8 unless configured otherwise), img_shape, ori_shape.

    Errors: a missing file raises ``FileNotFoundError`` naming it; a file
    that cannot be decoded, or a JPEG without its end-of-image marker
    (truncated download), raises ``ValueError`` naming it.

    Args:
        check_jpeg (bool): Check the JPEG markers of ``.jpg``/``.jpeg``
            files. Default True.
        **kwargs: mmcv ``LoadImageFromFile`` arguments.
    """

    def __init__(self, check_jpeg: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.check_jpeg = check_jpeg

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            data = _read_bytes(filename, 'image', self.backend_args)
            if self.check_jpeg and filename.lower().endswith(
                    ('.jpg', '.jpeg')):
                _check_jpeg_complete(data, filename)
            try:
                img = mmcv.imfrombytes(
                    data, flag=self.color_type, backend=self.imdecode_backend)
            except Exception as e:
                raise ValueError(
                    f'corrupt image {filename}: cannot decode it '
                    f'({type(e).__name__}: {e})') from e
            if img is None or img.size == 0:
                raise ValueError(f'corrupt image {filename}: cannot decode '
                                 'it')
        except (FileNotFoundError, ValueError):
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


def read_label_png(path: str, what: str = 'mask',
                   backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a label PNG (palette or grey) as its raw indices, (H, W).

    Args:
        path (str): File path.
        what (str): Name of the file's role for error messages.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: (H, W) integer label map (uint8 for 8-bit files).
    """
    data = _read_bytes(path, what, backend_args)
    try:
        arr = mmcv.imfrombytes(data, flag='unchanged', backend='pillow')
    except Exception as e:
        raise ValueError(f'corrupt {what} {path}: cannot decode it '
                         f'({type(e).__name__}: {e})') from e
    if arr is None:
        raise ValueError(f'corrupt {what} {path}: cannot decode it')
    arr = np.asarray(arr)
    if arr.ndim == 3:
        if arr.shape[2] != 1:
            raise ValueError(
                f'{what} {path} must be a single-channel (palette or grey) '
                f'PNG of class ids, found {arr.shape[2]} channels')
        arr = arr[..., 0]
    return arr


def check_label_ids(seg: np.ndarray, num_classes: int, path: str) -> None:
    """Raise if ``seg`` holds an id outside ``0..num_classes-1`` and 255.

    Args:
        seg (np.ndarray): (H, W) label map.
        num_classes (int): Number of classes including the background.
        path (str): File name for the message.
    """
    counts = np.bincount(seg.ravel().astype(np.int64), minlength=256)
    bad = np.flatnonzero(counts[num_classes:])
    bad = [int(num_classes + b) for b in bad if num_classes + b !=
           IGNORE_INDEX]
    if bad:
        raise ValueError(
            f'mask {path} holds class id(s) {bad[:10]} outside 0..'
            f'{num_classes - 1} (and {IGNORE_INDEX} = ignore) for this '
            f'dataset\'s {num_classes} classes')


@TRANSFORMS.register_module(name='LoadAnnotations')
@TRANSFORMS.register_module()
class CheckedLoadAnnotations(MMSegLoadAnnotations):
    """mmseg's ``LoadAnnotations`` with checks of the mask file.

    Registered as ``LoadAnnotations`` in the ``wsss_mmseg`` scope. Output is
    mmseg's (``gt_seg_map`` uint8 (H, W), added to ``seg_fields``).

    Checks (each error names the file):

    - missing mask -> ``FileNotFoundError``;
    - mask size differs from the original image size (``ori_shape``, set by
      the image loader; the check also holds when the mask is loaded after a
      ``Resize``) -> ``ValueError`` naming both files;
    - class id outside ``0..num_classes-1`` and 255 -> ``ValueError`` with
      the ids. ``num_classes`` is the argument, else the sample's
      ``num_classes`` (set by the wsss_mmseg datasets); without either the
      range is not checked. Checked before ``label_map`` /
      ``reduce_zero_label`` are applied only if those are unused.

    Args:
        num_classes (int, optional): Classes including the background.
        **kwargs: mmseg ``LoadAnnotations`` arguments.
    """

    def __init__(self, num_classes: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        if not fileio.exists(path, backend_args=self.backend_args):
            raise FileNotFoundError(
                f'mask file not found: {path} (image '
                f'{results.get("img_path", "?")})')
        super()._load_seg_map(results)
        seg = results['gt_seg_map']
        ori = results.get('ori_shape')
        if ori is not None and tuple(seg.shape[:2]) != tuple(ori[:2]):
            raise ValueError(
                f'mask {path} is {seg.shape[0]}x{seg.shape[1]} (HxW) but '
                f'image {results.get("img_path", "?")} is {ori[0]}x{ori[1]}')
        num_classes = self.num_classes or results.get('num_classes')
        remapped = results.get('label_map') or results.get(
            'reduce_zero_label')
        if num_classes and not remapped:
            check_label_ids(seg, num_classes, path)


def labels_from_seg(seg: np.ndarray, num_classes: int,
                    path: str = '<array>') -> np.ndarray:
    """Image-level labels of a mask: the ids present, background set to 1.

    Args:
        seg (np.ndarray): (H, W) label map, ids 0..C-1 and 255 (ignored).
        num_classes (int): C, including the background.
        path (str): File name for error messages.

    Returns:
        np.ndarray: (C,) float32 multi-hot, entry 0 = 1.
    """
    check_label_ids(seg, num_classes, path)
    counts = np.bincount(seg.ravel().astype(np.int64), minlength=256)
    labels = (counts[:num_classes] > 0).astype(np.float32)
    labels[0] = 1.0
    return labels


@TRANSFORMS.register_module()
class LoadImageLevelLabels(BaseTransform):
    """Put the image-level labels of a sample into ``results['img_labels']``.

    The labels are the ones the dataset read from its label file
    (``data_info['img_labels']``), or are derived from the sample's mask
    when the dataset was built with ``img_labels='mask'`` or when
    ``from_mask=True``: the ids present in the mask other than 255. The
    mask is ``gt_seg_map`` if it is loaded and still at the original size
    (not cropped), else the file ``seg_map_path`` is read. Place this
    transform before crops.

    Required Keys: img_labels or seg_map_path / gt_seg_map; num_classes
    (set by the wsss_mmseg datasets) when derived from a mask.

    Added Keys: img_labels (np.ndarray): (num_classes,) float32 multi-hot
    over the dataset's classes, background (index 0) always 1. Packed as
    ``gt_img_labels`` by :class:`PackWeakSegInputs`.

    Args:
        from_mask (bool, optional): True: always derive from the mask;
            False: never (error if the dataset has no labels); None
            (default): follow the dataset's ``img_labels`` setting.
        num_classes (int, optional): Classes including the background;
            default the sample's ``num_classes``.
        allow_empty (bool): Accept a mask without any object class
            (background-only labels). Default False: such a sample raises an
            error naming the mask.
    """

    def __init__(self,
                 from_mask: Optional[bool] = None,
                 num_classes: Optional[int] = None,
                 allow_empty: bool = False) -> None:
        self.from_mask = from_mask
        self.num_classes = num_classes
        self.allow_empty = allow_empty

    def _derive(self, results: dict) -> np.ndarray:
        num_classes = self.num_classes or results.get('num_classes')
        if not num_classes:
            raise KeyError(
                'LoadImageLevelLabels: deriving labels from the mask of '
                f'{results.get("img_path", "?")} needs num_classes (give it '
                'as an argument or use a wsss_mmseg dataset)')
        seg = results.get('gt_seg_map')
        path = results.get('seg_map_path', '<gt_seg_map>')
        ori = results.get('ori_shape')
        if seg is None or results.get('label_map') or (
                ori is not None and tuple(seg.shape[:2]) != tuple(ori[:2])):
            if 'seg_map_path' not in results:
                raise KeyError(
                    'LoadImageLevelLabels: no mask to derive image-level '
                    f'labels from for {results.get("img_path", "?")}: the '
                    'dataset has no data_prefix.seg_map_path')
            seg = read_label_png(path, 'mask')
            if ori is not None and tuple(seg.shape) != tuple(ori[:2]):
                raise ValueError(
                    f'mask {path} is {seg.shape[0]}x{seg.shape[1]} (HxW) '
                    f'but image {results.get("img_path", "?")} is '
                    f'{ori[0]}x{ori[1]}')
            if results.get('label_map'):
                lut = np.arange(256, dtype=np.uint8)
                for old, new in results['label_map'].items():
                    lut[old] = new
                seg = lut[seg]
        labels = labels_from_seg(seg, num_classes, path)
        if not self.allow_empty and not labels[1:].any():
            raise ValueError(
                f'mask {path} contains no object class, so its derived '
                'image-level labels are all zero; remove the image from the '
                'list or set LoadImageLevelLabels(allow_empty=True)')
        return labels

    def transform(self, results: dict) -> dict:
        source = results.get('img_labels_source', 'file')
        labels = results.get('img_labels')
        use_mask = self.from_mask or (self.from_mask is None
                                      and source == 'mask')
        if use_mask:
            labels = self._derive(results)
        elif labels is None:
            raise KeyError(
                f'no image-level labels for {results.get("img_path", "?")}: '
                f'the dataset was built with img_labels={source!r}; use '
                "img_labels='file' (cls_labels.npy) or 'mask', or "
                'LoadImageLevelLabels(from_mask=True)')
        labels = np.asarray(labels, dtype=np.float32).reshape(-1)
        num_classes = self.num_classes or results.get('num_classes')
        if num_classes and labels.shape[0] != num_classes:
            raise ValueError(
                f'image-level labels of {results.get("img_path", "?")} have '
                f'{labels.shape[0]} entries, expected {num_classes} '
                '(background included)')
        labels = labels.copy()
        labels[0] = 1.0
        results['img_labels'] = labels
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(from_mask={self.from_mask}, '
                f'num_classes={self.num_classes}, '
                f'allow_empty={self.allow_empty})')
