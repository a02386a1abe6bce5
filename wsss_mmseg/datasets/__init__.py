from .coco_weak import COCOWeakDataset
from .transforms import *  # noqa: F401,F403
from .voc_weak import PascalVOCWeakDataset, load_cls_labels

__all__ = ['PascalVOCWeakDataset', 'COCOWeakDataset', 'load_cls_labels']
