import numpy as np
import pytest
import skimage.data
import skimage.io
import torch
from mmseg.structures import SegDataSample

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.segmentors import BaseWeakSegmentor
from wsss_mmseg.models.utils import set_img_labels


class FixedScores(BaseWeakSegmentor):
    """Returns ``fn(inputs)`` as the scores; no network."""

    def __init__(self, fn, num_classes=3, test_cfg=None):
        super().__init__(num_classes=num_classes, test_cfg=test_cfg)
        self.fn = fn

    def extract_feat(self, inputs):
        return inputs

    def loss(self, inputs, data_samples):
        return {}

    def predict_scores(self, inputs, data_samples=None):
        return self.fn(inputs)


def _sample(labels=None, **meta):
    ds = SegDataSample(metainfo=meta)
    if labels is not None:
        set_img_labels(ds, torch.tensor(labels, dtype=torch.float32))
    return ds


def _grid(c, h, w):
    return torch.arange(c * h * w, dtype=torch.float32).reshape(1, c, h, w)


def test_padding_removed_and_resized():
    scores = _grid(3, 6, 8)
    model = FixedScores(lambda x: scores)
    ds = _sample(ori_shape=(5, 6), img_shape=(5, 6), padding_size=[0, 2, 0, 1])
    out = model.predict(torch.zeros(1, 3, 6, 8), [ds])[0]
    torch.testing.assert_close(out.seg_logits.data, scores[0, :, :5, :6])
    assert out.pred_sem_seg.data.shape == (1, 5, 6)
    # left/top padding as well, then resized to ori_shape
    ds = _sample(ori_shape=(8, 8), padding_size=[1, 1, 2, 0])
    out = model.predict(torch.zeros(1, 3, 6, 8), [ds])[0]
    assert out.seg_logits.data.shape == (3, 8, 8)
    torch.testing.assert_close(
        out.seg_logits.data[:, :1, :1], scores[0, :, 2:3, 1:2])


def test_flip_undone():
    scores = _grid(3, 4, 5)
    model = FixedScores(lambda x: scores)
    h = model.predict(
        torch.zeros(1, 3, 4, 5),
        [_sample(flip=True, flip_direction='horizontal')])[0]
    torch.testing.assert_close(h.seg_logits.data, scores[0].flip(-1))
    v = model.predict(
        torch.zeros(1, 3, 4, 5),
        [_sample(flip=True, flip_direction='vertical')])[0]
    torch.testing.assert_close(v.seg_logits.data, scores[0].flip(-2))


def test_label_restriction():
    # class 2 wins everywhere unless it is absent from the labels
    scores = torch.tensor([0.2, 0.5, 0.9])[None, :, None, None].expand(
        2, 3, 4, 4).clone()
    model = FixedScores(lambda x: scores)
    batch = [_sample([1, 1, 0]), _sample([1, 1, 1])]
    out = model.predict(torch.zeros(2, 3, 4, 4), batch)
    assert out[0].pred_sem_seg.data.eq(1).all()
    assert out[0].seg_logits.data[2].eq(0).all()
    assert out[1].pred_sem_seg.data.eq(2).all()
    # without labels (val split) or with use_img_labels=False: unrestricted
    out = model.predict(torch.zeros(2, 3, 4, 4), [_sample(), _sample()])
    assert out[0].pred_sem_seg.data.eq(2).all()
    model = FixedScores(lambda x: scores, test_cfg=dict(use_img_labels=False))
    out = model.predict(torch.zeros(2, 3, 4, 4), batch)
    assert out[0].pred_sem_seg.data.eq(2).all()


def test_multi_scale_flip_from_test_cfg():
    calls = []

    def fn(x):
        calls.append(tuple(x.shape[-2:]))
        return x[:, :3].abs()

    model = FixedScores(fn, test_cfg=dict(scales=(1.0, 0.5), flip=True,
                                          fusion='max'))
    x = torch.rand(1, 3, 8, 8)
    model.predict(x, [_sample()])
    assert calls == [(8, 8), (8, 8), (4, 4), (4, 4)]


def test_class_count_mismatch():
    model = FixedScores(lambda x: torch.rand(1, 4, 4, 4))
    with pytest.raises(ValueError, match='gave 4 channels, the model has '
                       'num_classes=3'):
        model.predict(torch.zeros(1, 3, 4, 4), [_sample()])
    model = FixedScores(lambda x: torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match='image labels have 4 classes but '
                       'the model predicts 3'):
        model.predict(torch.zeros(1, 3, 4, 4), [_sample([1, 0, 1, 0])])


def test_no_data_samples():
    model = FixedScores(lambda x: torch.rand(2, 3, 4, 4))
    out = model.predict(torch.zeros(2, 3, 4, 4))
    assert len(out) == 2 and out[0].pred_sem_seg.data.shape == (1, 4, 4)
    assert model._forward(torch.zeros(2, 3, 4, 4)).shape == (2, 3, 4, 4)


def test_crf(tmp_path):
    img = np.ascontiguousarray(skimage.data.astronaut()[::8, ::8])  # 64x64
    path = str(tmp_path / 'astronaut.png')
    skimage.io.imsave(path, img)
    scores = torch.rand(1, 3, 64, 64)
    model = FixedScores(lambda x: scores, test_cfg=dict(crf=dict(n_iter=3)))
    out = model.predict(
        torch.zeros(1, 3, 64, 64),
        [_sample([1, 1, 0], img_path=path, ori_shape=(64, 64))])[0]
    probs = out.seg_logits.data
    torch.testing.assert_close(probs.sum(0), torch.ones(64, 64),
                               atol=1e-4, rtol=0)
    assert probs[2].max() < 1e-3  # restricted class: score 0 -> clipped
    with pytest.raises(ValueError, match='no img_path'):
        model.predict(torch.zeros(1, 3, 64, 64), [_sample()])
