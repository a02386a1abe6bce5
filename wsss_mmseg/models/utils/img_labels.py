"""Access to the image-level labels carried by :class:`SegDataSample`.

Convention (whole package): ``data_sample.gt_img_labels`` is a float tensor
of shape ``(num_classes,)`` over the dataset's classes *including*
background at index 0, which is always 1 (VOC: 21 entries, COCO: 81). It is
a data field, so the data preprocessor moves it to the model's device.
Heads without a background output use ``labels[:, 1:]``.
"""
from typing import Optional, Sequence

import torch
from mmseg.structures import SegDataSample
from torch import Tensor

IMG_LABELS_FIELD = 'gt_img_labels'


def get_img_labels(data_samples: Optional[Sequence[SegDataSample]],
                   required: bool = False) -> Optional[Tensor]:
    """Stack the image-level labels of a batch.

    Args:
        data_samples (list[SegDataSample] | None): The batch.
        required (bool): Raise instead of returning None when labels are
            missing (training losses need them).

    Returns:
        Tensor | None: (B, num_classes) float multi-hot, background at 0;
        None if no sample carries labels and ``required`` is False.
    """
    if not data_samples:
        if required:
            raise ValueError('image-level labels are required but the batch '
                             'has no data samples')
        return None
    has = [IMG_LABELS_FIELD in ds for ds in data_samples]
    if not any(has) and not required:
        return None
    if not all(has):
        missing = [
            ds.metainfo.get('img_path', f'#{i}')
            for i, ds in enumerate(data_samples) if IMG_LABELS_FIELD not in ds
        ]
        raise ValueError(
            f'image-level labels ({IMG_LABELS_FIELD}) missing for {missing}; '
            'add LoadImageLevelLabels and PackWeakSegInputs to the pipeline')
    return torch.stack(
        [ds.get(IMG_LABELS_FIELD).float() for ds in data_samples])


def set_img_labels(data_sample: SegDataSample, labels: Tensor) -> None:
    """Attach ``labels`` (num_classes,) to ``data_sample`` as a data field."""
    data_sample.set_field(labels.float(), IMG_LABELS_FIELD, field_type='data')
