import pytest
import torch
from mmseg.structures import SegDataSample

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.utils import (IMG_LABELS_FIELD, get_img_labels,
                                     set_img_labels)


def _sample(labels=None, path=None):
    ds = SegDataSample(metainfo=dict(img_path=path) if path else {})
    if labels is not None:
        set_img_labels(ds, torch.tensor(labels))
    return ds


def test_stack_and_dtype():
    batch = [_sample([1, 0, 1]), _sample([1, 1, 0])]
    labels = get_img_labels(batch)
    assert labels.dtype == torch.float32
    torch.testing.assert_close(labels,
                               torch.tensor([[1., 0., 1.], [1., 1., 0.]]))
    assert get_img_labels(batch, required=True).shape == (2, 3)
    # stored as a data field (moved to the device by the preprocessor)
    assert IMG_LABELS_FIELD in batch[0]
    assert IMG_LABELS_FIELD in batch[0].keys()
    assert IMG_LABELS_FIELD not in batch[0].metainfo_keys()


def test_set_converts_integer_labels():
    ds = _sample([1, 0, 1])  # int64 input
    assert ds.gt_img_labels.dtype == torch.float32


def test_absent_labels():
    assert get_img_labels([_sample(), _sample()]) is None
    assert get_img_labels(None) is None
    assert get_img_labels([]) is None
    with pytest.raises(ValueError, match='required but the batch has no '
                       'data samples'):
        get_img_labels([], required=True)
    with pytest.raises(ValueError, match=r"missing for \['a.jpg', '#1'\]"):
        get_img_labels([_sample(path='a.jpg'), _sample()], required=True)


def test_partially_missing_is_an_error():
    with pytest.raises(ValueError, match=r"missing for \['b.jpg'\].*"
                       'LoadImageLevelLabels'):
        get_img_labels([_sample([1, 0]), _sample(path='b.jpg')])
