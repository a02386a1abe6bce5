"""Tests of WeakEncoderDecoder (refinement network with label restriction)."""
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

register_all_modules()


def _model():
    return MODELS.build(dict(
        type='WeakEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(2, 3),
                      strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
        decode_head=dict(type='ASPPHead', in_channels=64, in_index=1,
                         channels=16, dilations=(1, 6), num_classes=5,
                         loss_decode=dict(type='CrossEntropyLoss')),
        auxiliary_head=dict(type='FCNHead', in_channels=32, in_index=0,
                            channels=8, num_convs=1, num_classes=5,
                            loss_decode=dict(type='CrossEntropyLoss',
                                             loss_weight=0.4))))


def _samples(n, labels=None):
    out = []
    for i in range(n):
        ds = SegDataSample(metainfo=dict(img_shape=(64, 64),
                                         ori_shape=(64, 64)))
        ds.gt_sem_seg = PixelData(
            data=torch.randint(0, 5, (1, 64, 64)))
        if labels is not None:
            set_img_labels(ds, torch.tensor(labels[i], dtype=torch.float))
        out.append(ds)
    return out


def test_losses_and_restricted_prediction():
    model = _model()
    losses = model.loss(torch.randn(2, 3, 64, 64), _samples(2))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, 64, 64),
                            _samples(2, [(1, 0, 1, 0, 0), (1, 0, 0, 0, 1)]))
    assert set(out[0].pred_sem_seg.data.unique().tolist()) <= {0, 2}
    assert set(out[1].pred_sem_seg.data.unique().tolist()) <= {0, 4}
    probs = model.predict_scores(torch.randn(1, 3, 64, 64))
    torch.testing.assert_close(probs.sum(1), torch.ones(1, 64, 64))
