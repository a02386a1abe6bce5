"""COCO 2014 in the WSSS convention (80 object classes + background)."""
import numpy as np
from mmseg.datasets import COCOStuffDataset

from wsss_mmseg.registry import DATASETS
from .voc_weak import PascalVOCWeakDataset


def label_colormap(num: int = 256) -> np.ndarray:
    """PASCAL VOC's bit-interleaved colour map, (num, 3) uint8 RGB."""
    ids = np.arange(num)
    cmap = np.zeros((num, 3), dtype=np.int64)
    for shift in range(8):
        for channel in range(3):
            cmap[:, channel] |= ((ids >> channel) & 1) << (7 - shift)
        ids = ids >> 3
    return cmap.astype(np.uint8)


# COCO's 80 "thing" classes in category-id order (the first 80 of
# COCO-Stuff's list).
COCO_THING_CLASSES = tuple(COCOStuffDataset.METAINFO['classes'][:80])


@DATASETS.register_module()
class COCOWeakDataset(PascalVOCWeakDataset):
    """MS-COCO 2014 for weakly supervised segmentation (81 classes).

    Class 0 is the background, classes 1..80 are COCO's object categories
    sorted by category id (person = 1 ... toothbrush = 80); 255 is ignored
    (crowd regions). Masks are made from the instance annotations by
    ``tools/dataset_converters/coco2014.py``. Layout::

        data/coco2014/                            <- data_root
        ├── train2014/COCO_train2014_*.jpg        <- data_prefix.img_path
        ├── val2014/COCO_val2014_*.jpg
        ├── SegmentationClass/
        │   ├── train2014/COCO_train2014_*.png    <- data_prefix.seg_map_path
        │   └── val2014/COCO_val2014_*.png        (uint8 ids, 255 = crowd)
        ├── ImageSets/
        │   ├── train.txt                         ids with >= 1 object
        │   └── val.txt                           <- ann_file
        └── cls_labels.npy                        id -> float32[80]

    Every argument, key and check is the one of
    :class:`PascalVOCWeakDataset` (image-level labels from the file or
    derived from the masks; all-zero vectors skipped with a warning by
    default).
    """
    METAINFO = dict(
        classes=('background', ) + COCO_THING_CLASSES,
        palette=label_colormap(81).tolist())
