"""Tests of DecoupledHead / DecoupledSegmentor (SPN refinement option)."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.backbones.vgg16_switches import VGG16Switches
from wsss_mmseg.models.decode_heads.decoupled_head import DecoupledHead
from wsss_mmseg.models.segmentors.decoupled_segmentor import \
    DecoupledSegmentor
from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

register_all_modules()
TINY = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16], [16, 16, 16]]
DECODER = ((16, 16), (16, 8), (8, 8), (8, 4), (4, 4))


def _cfg():
    return dict(
        type='DecoupledSegmentor',
        num_classes=4,
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1]),
        backbone=dict(type='VGG16Switches', arch=TINY,
                      extra_conv_channels=None, frozen=False),
        decode_head=dict(type='DecoupledHead', in_channels=16,
                         num_classes=3, bridge_channels=16,
                         decoder_channels=DECODER))


def _samples(masks, labels=None):
    out = []
    for i, m in enumerate(masks):
        ds = SegDataSample(metainfo=dict(img_path=f'{i}.jpg',
                                         img_shape=m.shape,
                                         ori_shape=m.shape))
        ds.gt_sem_seg = PixelData(data=m[None].long())
        if labels is not None:
            set_img_labels(ds, torch.tensor([1.0, *labels[i]]))
        out.append(ds)
    return out


def test_head_output_and_conditioning():
    torch.manual_seed(0)
    enc = VGG16Switches(arch=TINY, extra_conv_channels=None, frozen=False)
    head = DecoupledHead(in_channels=16, num_classes=3, bridge_channels=16,
                         decoder_channels=DECODER)
    torch.nn.init.normal_(head.class_gamma.weight)
    feats = enc(torch.randn(2, 3, 64, 48))
    out = head(feats, torch.tensor([0, 0, 1]), torch.tensor([0, 2, 2]))
    assert out.shape == (3, 2, 64, 48)
    # same image, different class -> different map
    assert not torch.allclose(out[0], out[1])


def test_head_width_mismatch():
    enc = VGG16Switches(arch=TINY, extra_conv_channels=None)
    bad = DecoupledHead(in_channels=16, num_classes=3, bridge_channels=16,
                        decoder_channels=((16, 16), (16, 16), (8, 8),
                                          (8, 4), (4, 4)))
    with pytest.raises(ValueError, match='do not fit the encoder'):
        bad(enc(torch.randn(1, 3, 64, 64)), torch.tensor([0]),
            torch.tensor([0]))
    with pytest.raises(ValueError, match='5 stages'):
        DecoupledHead(decoder_channels=((8, ), ))


def test_sample_classes_only_candidates():
    cand = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([DecoupledSegmentor.sample_classes(cand, g)
                         for _ in range(200)])
    assert (draws[:, 0] == 1).all()
    assert set(draws[:, 1].tolist()) == {0, 2}
    assert set(draws[:, 2].tolist()) == {0, 1, 2}


def test_loss_binary_target_of_sampled_class(monkeypatch):
    model = MODELS.build(_cfg())
    mask = torch.zeros(64, 64, dtype=torch.long)
    mask[:32] = 2
    mask[40:, :10] = 255
    samples = _samples([mask, torch.zeros(64, 64)],
                       labels=[(0, 1, 0), (0, 0, 1)])
    seen = {}
    original = model.decode_head.loss_seg.forward

    def spy(logits, target, **kw):
        seen['target'] = target
        return original(logits, target, **kw)

    monkeypatch.setattr(model.decode_head.loss_seg, 'forward', spy)
    losses = model.loss(torch.randn(2, 3, 64, 64), samples)
    assert set(losses) == {'loss_fg', 'loss_cls'}
    target = seen['target']
    # image 0: class 2 (index 1) is in the mask -> fg on the top half
    assert (target[0, :32] == 1).all() and (target[0, 32:40] == 0).all()
    assert (target[0, 40:, :10] == 255).all()
    # image 1: empty mask -> class from the labels, all background
    assert (target[1] == 0).all()
    sum(losses.values()).backward()
    assert model.backbone.stages[0][0].weight.grad is not None


def test_predict_pairs_of_present_classes():
    model = MODELS.build(_cfg()).eval()
    samples = _samples([torch.zeros(64, 64)] * 2,
                       labels=[(1, 0, 1), (0, 1, 0)])
    with torch.no_grad():
        scores = model.predict_scores(torch.randn(2, 3, 64, 64), samples)
        out = model.predict(torch.randn(2, 3, 64, 64), samples)
    assert scores.shape == (2, 4, 64, 64)
    assert (scores[0, 2] == 0).all() and (scores[1, 1] == 0).all()
    torch.testing.assert_close(scores[:, 0], 1 - scores[:, 1:].amax(1))
    assert set(out[1].pred_sem_seg.data.unique().tolist()) <= {0, 2}
    # without labels the classifier decides, at least one class
    with torch.no_grad():
        free = model.predict_scores(torch.randn(1, 3, 64, 64), None)
    assert (free[:, 1:].flatten(2).amax(2) > 0).sum() >= 1
