"""Packing of weak-supervision fields into :class:`SegDataSample`."""
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs

from wsss_mmseg.models.utils.img_labels import set_img_labels
from wsss_mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWeakSegInputs(PackSegInputs):
    """:class:`PackSegInputs` that also packs image-level labels and
    superpixels.

    Required Keys: as :class:`PackSegInputs`.

    Optional Keys:

    - img_labels (np.ndarray): (num_classes,) float32 multi-hot, background
      at index 0 (set by :class:`LoadImageLevelLabels`). Packed as the data
      field ``gt_img_labels`` (float tensor), which the data preprocessor
      moves to the model's device.
    - gt_superpixels (np.ndarray): (H, W) int superpixel ids. Packed as
      ``gt_superpixels`` (:class:`PixelData`, (1, H, W) int64).

    Args:
        meta_keys (tuple[str]): Meta keys to keep; ``img_id`` is added to
            mmseg's defaults.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                            'img_shape', 'pad_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label', 'img_id')):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        data_sample = packed['data_samples']
        if 'img_labels' in results:
            labels = torch.from_numpy(
                np.asarray(results['img_labels'], dtype=np.float32))
            set_img_labels(data_sample, labels)
        if 'gt_superpixels' in results:
            sp = np.ascontiguousarray(results['gt_superpixels'])
            data_sample.gt_superpixels = PixelData(
                data=torch.from_numpy(sp.astype(np.int64))[None])
        return packed
