"""PASCAL VOC 2012 (+ SBD augmentation) with image-level labels."""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmseg.datasets import BaseSegDataset

from wsss_mmseg.registry import DATASETS

IMG_LABEL_SOURCES = ('file', 'mask', None)
EMPTY_LABEL_POLICIES = ('skip', 'error', 'keep')

_CLS_LABEL_CACHE: Dict[tuple, Dict[str, np.ndarray]] = {}


def load_cls_labels(path: str) -> Dict[str, np.ndarray]:
    """Read a ``cls_labels.npy`` file (pickled dict id -> float32[C]).

    This is the format of the standard VOC file used by PSA, IRN and most
    WSSS code: ``np.save(path, {img_id: multi_hot})`` with the foreground
    classes only (VOC: 20 entries, no background). Files are cached per
    process by path and modification time.

    Args:
        path (str): Path of the ``.npy`` file.

    Returns:
        dict[str, np.ndarray]: Image id -> (C,) float32 multi-hot.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'image-level label file {path} not found (expected a pickled '
            'dict id -> float32[num_fg_classes] saved with np.save; make one '
            'with tools/dataset_converters/make_cls_labels.py)')
    key = (osp.abspath(path), osp.getmtime(path))
    if key not in _CLS_LABEL_CACHE:
        try:
            obj = np.load(path, allow_pickle=True)
            labels = obj.item() if obj.dtype == object else None
        except Exception as e:  # corrupt / not a npy file
            raise ValueError(
                f'could not read image-level label file {path}: {e}') from e
        if not isinstance(labels, dict):
            raise ValueError(
                f'image-level label file {path} must hold a dict id -> '
                f'float32[num_fg_classes]; found {type(obj).__name__} '
                f'{getattr(obj, "shape", "")}')
        _CLS_LABEL_CACHE[key] = {
            str(k): np.asarray(v, dtype=np.float32).reshape(-1)
            for k, v in labels.items()
        }
    return _CLS_LABEL_CACHE[key]


@DATASETS.register_module()
class PascalVOCWeakDataset(BaseSegDataset):
    """PASCAL VOC 2012 (+ SBD) for weakly supervised segmentation.

    A :class:`~mmseg.datasets.BaseSegDataset` whose samples also carry
    image-level labels, read from the standard ``cls_labels.npy`` or derived
    from the masks, for :class:`LoadImageLevelLabels`. Layout::

        data/VOCdevkit/VOC2012/                   <- data_root
        ├── JPEGImages/2007_000032.jpg ...        <- data_prefix.img_path
        ├── SegmentationClass/*.png               VOC masks (train, val)
        ├── SegmentationClassAug/*.png            SBD + VOC masks (train_aug;
        │                                         tools/dataset_converters/
        │                                         voc_aug.py)
        ├── ImageSets/Segmentation/
        │   ├── train_aug.txt                     10,582 ids  <- ann_file
        │   ├── train.txt                         1,464 ids
        │   └── val.txt                           1,449 ids
        ├── cls_labels.npy                        id -> float32[20]
        │                                         <- img_labels_file
        └── superpixels/<name>/<id>.png           optional, SPN
                                        <- data_prefix.superpixel_path

    Every path of a sample is built in :meth:`load_data_list` (and nowhere
    else). Training on pseudo labels is pointing ``data_prefix.seg_map_path``
    at the directory of pseudo-label PNGs.

    Each ``data_info`` holds ``img_path``, ``img_id``, ``seg_map_path`` (if
    ``data_prefix.seg_map_path`` is set), ``superpixel_path`` (if
    ``data_prefix.superpixel_path`` is set), ``data_root``, ``num_classes``,
    ``img_labels_source`` and, for ``img_labels='file'``, ``img_labels``:
    (num_classes,) float32 with the background (index 0) set to 1.

    Other class sets (the toy dataset, a VOC subset) are given with
    ``metainfo=dict(classes=..., palette=...)``. When the classes are a
    subset of VOC's, masks are remapped as in mmseg (``label_map``); when
    they are a different set altogether, the mask ids are taken to index the
    new classes directly.

    Args:
        ann_file (str): Image list, one id per line (a line
            ``/JPEGImages/x.jpg /SegmentationClassAug/x.png`` is read as
            ``x``). Relative to ``data_root``.
        img_labels (str | None): Source of the image-level labels:
            ``'file'`` (``img_labels_file``, default), ``'mask'`` (derived
            on load from the sample's mask by :class:`LoadImageLevelLabels`:
            the ids present other than 0 and 255) or None (no labels, e.g.
            the val split).
        img_labels_file (str): The ``cls_labels.npy`` file (relative to
            ``data_root``). Its vectors have one entry per *foreground*
            class (``len(classes) - 1``); a vector of ``len(classes)`` is
            read as including the background entry.
        empty_labels (str): What to do with an image whose label vector in
            the file is all zero (no object): ``'skip'`` it with a warning
            (default), raise an ``'error'``, or ``'keep'`` it (background
            only).
        img_suffix (str): Image suffix. Default '.jpg'.
        seg_map_suffix (str): Mask suffix. Default '.png'.
        superpixel_suffix (str): Suffix of cached superpixel maps under
            ``data_prefix.superpixel_path`` (``'.png'`` 16-bit or ``'.npy'``
            int32). Default '.png'.
        check_img_files (bool): Check at construction that every listed
            image exists (local files only), so a wrong ``data_root`` or an
            incomplete download fails at once with the missing paths
            instead of at some training iteration. Default True.
        **kwargs: :class:`~mmseg.datasets.BaseSegDataset` arguments
            (``data_root``, ``data_prefix``, ``pipeline``, ``metainfo``...).
    """
    METAINFO = dict(
        classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat',
                 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
                 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
                 'sofa', 'train', 'tvmonitor'),
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                 [0, 0, 128], [128, 0, 128], [0, 128, 128], [128, 128, 128],
                 [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
                 [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128],
                 [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0],
                 [0, 64, 128]])

    def __init__(self,
                 ann_file: str,
                 img_labels: Optional[str] = 'file',
                 img_labels_file: str = 'cls_labels.npy',
                 empty_labels: str = 'skip',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 superpixel_suffix: str = '.png',
                 check_img_files: bool = True,
                 **kwargs) -> None:
        if img_labels not in IMG_LABEL_SOURCES:
            raise ValueError(
                f'{type(self).__name__}: img_labels must be one of '
                f'{IMG_LABEL_SOURCES}, got {img_labels!r}')
        if empty_labels not in EMPTY_LABEL_POLICIES:
            raise ValueError(
                f'{type(self).__name__}: empty_labels must be one of '
                f'{EMPTY_LABEL_POLICIES}, got {empty_labels!r}')
        if not ann_file:
            raise ValueError(f'{type(self).__name__}: ann_file (the image '
                             'list) is required')
        self.img_labels = img_labels
        self.img_labels_file = img_labels_file
        self.empty_labels = empty_labels
        self.superpixel_suffix = superpixel_suffix
        self.check_img_files = check_img_files
        self.skipped_img_ids: List[str] = []
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)

    @classmethod
    def get_label_map(cls,
                      new_classes: Optional[Sequence] = None
                      ) -> Optional[dict]:
        """mmseg's label map for class subsets; None for a different set.

        Args:
            new_classes (Sequence[str] | None): Classes of ``metainfo``.

        Returns:
            dict | None: old id -> new id, or None when no remapping applies.
        """
        old_classes = cls.METAINFO.get('classes')
        if new_classes is not None and old_classes is not None and not set(
                new_classes).issubset(old_classes):
            return None  # another label set: mask ids index new_classes
        return super().get_label_map(new_classes)

    def _update_palette(self) -> list:
        """mmseg's palette update; a different class set given without a
        palette takes the first ``len(classes)`` colours of VOC's map."""
        palette = self._metainfo.get('palette', [])
        classes = self._metainfo.get('classes', [])
        if self.label_map is None and len(palette) > len(classes):
            return type(palette)(palette[:len(classes)])
        return super()._update_palette()

    @property
    def num_classes(self) -> int:
        """Number of classes including the background."""
        return len(self.metainfo['classes'])

    def _img_labels_path(self) -> str:
        path = self.img_labels_file
        if self.data_root and not osp.isabs(path):
            path = osp.join(self.data_root, path)
        return path

    def _read_ids(self) -> List[str]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: image list (ann_file) '
                f'{self.ann_file} not found')
        with open(self.ann_file) as f:
            lines = [line.strip() for line in f]
        ids = []
        for line in lines:
            if not line:
                continue
            first = line.split()[0]
            ids.append(osp.splitext(osp.basename(first))[0]
                       if ('/' in first or ' ' in line) else first)
        if not ids:
            raise ValueError(f'{type(self).__name__}: image list '
                             f'{self.ann_file} is empty')
        return ids

    def _fg_labels(self, img_id: str, table: Dict[str, np.ndarray],
                   path: str) -> np.ndarray:
        """(num_classes,) labels with background, from the file table."""
        if img_id not in table:
            raise KeyError(
                f'image id {img_id!r} (from {self.ann_file}) is absent from '
                f'the image-level label file {path} ({len(table)} entries); '
                'regenerate it with tools/dataset_converters/'
                "make_cls_labels.py or use img_labels='mask'")
        vec = table[img_id]
        num_fg = self.num_classes - 1
        if vec.shape[0] == num_fg:
            vec = np.concatenate([np.ones(1, np.float32), vec])
        elif vec.shape[0] == self.num_classes:
            vec = vec.copy()
            vec[0] = 1.0
        else:
            raise ValueError(
                f'image-level labels of {img_id!r} in {path} have '
                f'{vec.shape[0]} entries; expected {num_fg} (foreground '
                f'classes) for the dataset\'s {self.num_classes} classes '
                f'{tuple(self.metainfo["classes"])}')
        if not np.isin(vec, (0.0, 1.0)).all():
            raise ValueError(
                f'image-level labels of {img_id!r} in {path} must be 0/1, '
                f'found {vec[1:].tolist()}')
        return vec

    def load_data_list(self) -> List[dict]:
        """Build one ``data_info`` per id of ``ann_file`` (all paths here).

        Returns:
            list[dict]: The samples (see the class docstring for the keys).
        """
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', None)
        sp_dir = self.data_prefix.get('superpixel_path', None)
        table, label_path = None, None
        if self.img_labels == 'file':
            label_path = self._img_labels_path()
            table = load_cls_labels(label_path)
        data_list = []
        self.skipped_img_ids = []
        for img_id in self._read_ids():
            info = dict(
                img_id=img_id,
                img_path=osp.join(img_dir, img_id + self.img_suffix),
                data_root=self.data_root,
                num_classes=self.num_classes,
                img_labels_source=self.img_labels,
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                seg_fields=[])
            if seg_dir is not None:
                info['seg_map_path'] = osp.join(
                    seg_dir, img_id + self.seg_map_suffix)
            if sp_dir is not None:
                info['superpixel_path'] = osp.join(
                    sp_dir, img_id + self.superpixel_suffix)
            if table is not None:
                labels = self._fg_labels(img_id, table, label_path)
                if not labels[1:].any():
                    if self.empty_labels == 'error':
                        raise ValueError(
                            f'image {img_id!r} has an all-zero label vector '
                            f'in {label_path} (no object class); set '
                            "empty_labels='skip' to drop such images")
                    if self.empty_labels == 'skip':
                        self.skipped_img_ids.append(img_id)
                        continue
                info['img_labels'] = labels
            data_list.append(info)
        if self.skipped_img_ids:
            warnings.warn(
                f'{type(self).__name__}: skipped {len(self.skipped_img_ids)} '
                f'image(s) of {self.ann_file} with an all-zero label vector '
                f'in {label_path} (first: {self.skipped_img_ids[:5]}); '
                "empty_labels='error' turns this into an error")
        if not data_list:
            raise ValueError(f'{type(self).__name__}: no usable image in '
                             f'{self.ann_file}')
        if self.check_img_files and self.backend_args is None:
            missing = [
                d['img_path'] for d in data_list
                if not osp.isfile(d['img_path'])
            ]
            if missing:
                raise FileNotFoundError(
                    f'{type(self).__name__}: {len(missing)} of '
                    f'{len(data_list)} images listed in {self.ann_file} '
                    f'are missing, e.g. {missing[:5]} (wrong data_root? '
                    'incomplete download?)')
        return data_list
