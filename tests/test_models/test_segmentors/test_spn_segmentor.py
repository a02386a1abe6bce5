"""Tests of SPNSegmentor and SuperpixelPoolingHead (SPN, methods.md §1)."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

register_all_modules()

TINY = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16], [16, 16, 16]]


def _cfg(**train_cfg):
    return dict(
        type='SPNSegmentor',
        num_classes=4,
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1]),
        backbone=dict(type='VGG16Switches', arch=TINY,
                      extra_conv_channels=16),
        neck=dict(type='SwitchUnpoolUpsampler', in_channels=16,
                  channels=(16, 16, 16, 8), pool5_channels=16),
        decode_head=dict(type='SuperpixelPoolingHead', in_channels=8,
                         gap_in_channels=16, num_classes=3),
        train_cfg=train_cfg or dict(batch_sizes=(64, 96)),
        test_cfg=dict(scales=[(64, 64), (96, 96)], fusion='max'))


def _samples(batch, size, labels=((1, 0, 1), (0, 1, 0)), sp=None):
    out = []
    for i in range(batch):
        ds = SegDataSample(metainfo=dict(
            img_path=f'img{i}.jpg', img_shape=size, ori_shape=size,
            pad_shape=size))
        if sp is None:
            grid = torch.arange(16).view(4, 4).repeat_interleave(
                size[0] // 4, 0).repeat_interleave(size[1] // 4, 1)
            ds.gt_superpixels = PixelData(data=grid[None].long())
        elif sp is not False:
            ds.gt_superpixels = PixelData(data=sp[i][None].long())
        if labels is not None:
            set_img_labels(ds, torch.tensor([1.0, *labels[i % 2]]))
        ds.gt_sem_seg = PixelData(
            data=torch.zeros(1, *size, dtype=torch.long))
        out.append(ds)
    return out


def test_loss_backward_updates_trainable_parts_only():
    torch.manual_seed(0)
    model = MODELS.build(_cfg())
    model.init_weights()
    losses = model.loss(torch.randn(2, 3, 64, 64), _samples(2, (64, 64)))
    assert set(losses) == {'loss_sp', 'loss_gap'}
    sum(losses.values()).backward()
    assert model.backbone.stages[0][0].weight.grad is None
    assert model.backbone.extra_conv.weight.grad is not None
    assert model.neck.blocks[0][0].weight.grad is not None
    assert model.decode_head.fc_sp.weight.grad is not None
    assert model.decode_head.fc_gap.weight.grad is not None


def test_loss_is_sum_over_classes():
    model = MODELS.build(_cfg())
    head = model.decode_head
    logits = torch.zeros(2, 3)
    labels = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    losses = head.loss_by_logits(logits, logits, labels)
    # each image: 3 classes x log 2
    assert losses['loss_sp'].item() == pytest.approx(3 * 0.6931472, 1e-5)


def test_batch_resize_keeps_superpixels_aligned(monkeypatch):
    model = MODELS.build(_cfg(batch_sizes=(96, )))
    seen = {}

    def spy(feats, enc, ids, batch_idx, num):
        seen['ids'] = ids
        seen['feats'] = feats
        return torch.zeros(2, 3, requires_grad=True), None

    monkeypatch.setattr(model.decode_head, 'forward', spy)
    model.loss(torch.randn(2, 3, 64, 64), _samples(2, (64, 64)))
    ids = seen['ids']
    assert ids.shape == (2, 96, 96)
    assert seen['feats'].shape[-2:] == (6, 6)
    # the 4x4 block grid scaled by 1.5: block (r, c) covers rows 24r..24r+23
    assert ids[0, 0, 0] == 0 and ids[0, 95, 95] == 15
    assert ids[1, 24, 0] == 16 + 4 and ids[1, 23, 0] == 16


def test_predict_sp_cam_level_sets_and_labels():
    torch.manual_seed(0)
    model = MODELS.build(_cfg()).eval()
    model.init_weights()
    samples = _samples(2, (64, 64))
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, 64, 64), samples)
    for i, ds in enumerate(out):
        pred = ds.pred_sem_seg.data[0]
        assert pred.shape == (64, 64)
        # constant on every superpixel (16x16 blocks)
        blocks = pred.view(4, 16, 4, 16)
        assert (blocks == blocks[:, :1, :, :1]).all()
        allowed = {0} | {c + 1 for c, v in
                         enumerate(((1, 0, 1), (0, 1, 0))[i]) if v}
        assert set(pred.unique().tolist()) <= allowed
        # every present class gets its max superpixel
        assert set(pred.unique().tolist()) >= allowed - {0}
        assert ds.seg_logits.data.shape == (4, 64, 64)


def test_predict_without_labels_uses_predicted_presence():
    model = MODELS.build(_cfg()).eval()
    with torch.no_grad():
        scores = model.predict_scores(torch.randn(1, 3, 64, 64),
                                      _samples(1, (64, 64), labels=None))
    assert scores.shape == (1, 4, 64, 64) and (scores >= 0).all()


def test_superpixel_lost_at_a_scale_and_single_superpixel():
    model = MODELS.build(_cfg()).eval()
    model.test_cfg['scales'] = [(32, 32), (64, 64)]
    sp = torch.zeros(1, 64, 64, dtype=torch.long)
    sp[0, 0, 0] = 1  # a 1-pixel superpixel vanishes at 32x32
    sp[0, 10:40, 10:40] = 2
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 64, 64),
                            _samples(1, (64, 64), sp=sp))
    assert torch.isfinite(out[0].seg_logits.data).all()
    whole = torch.zeros(1, 64, 64, dtype=torch.long)
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 64, 64),
                            _samples(1, (64, 64), sp=whole))
    # one superpixel, present classes 1 and 3: the higher one wins all
    assert out[0].pred_sem_seg.data.unique().numel() == 1


def test_class_absent_at_one_scale_fused_by_max():
    """A scale where every superpixel scores negative does not matter."""
    model = MODELS.build(_cfg()).eval()
    calls = []
    original = model.decode_head.superpixel_scores

    def scores(pooled):
        out = original(pooled)
        calls.append(1)
        return out - 1e3 if len(calls) == 1 else out

    model.decode_head.superpixel_scores = scores
    x = torch.randn(1, 3, 64, 64)
    samples = _samples(1, (64, 64))
    with torch.no_grad():
        fused = model.sp_cam(x, samples, [(64, 64), (96, 96)])
        calls.clear()
        model.decode_head.superpixel_scores = original
        only = model.sp_cam(x, samples, [(96, 96)])
    torch.testing.assert_close(fused, only)


def test_bad_superpixels():
    model = MODELS.build(_cfg())
    with pytest.raises(ValueError, match='no gt_superpixels for img0.jpg'):
        model.loss(torch.randn(1, 3, 64, 64),
                   _samples(1, (64, 64), sp=False))
    stale = torch.zeros(1, 80, 64, dtype=torch.long)
    with pytest.raises(ValueError, match='img0.jpg is 80x64.*stale'):
        model.loss(torch.randn(1, 3, 64, 64),
                   _samples(1, (64, 64), sp=stale))
    cfg = _cfg()
    cfg['decode_head']['num_classes'] = 4
    with pytest.raises(ValueError, match='num_classes - 1'):
        MODELS.build(cfg)


def test_batch_padding_pads_superpixels():
    model = MODELS.build(_cfg())
    samples = _samples(1, (48, 64), sp=torch.zeros(1, 48, 64))
    sp = model._superpixels(samples, (64, 64))
    assert sp.shape == (1, 64, 64)
    assert (sp[0, 48:] == -1).all() and (sp[0, :48] == 0).all()


def test_non_square_batch_padded_to_square_then_resized(monkeypatch):
    model = MODELS.build(_cfg(batch_sizes=(128, )))
    seen = {}

    def spy(feats, enc, ids, batch_idx, num):
        seen['ids'] = ids
        return torch.zeros(1, 3, requires_grad=True), None

    monkeypatch.setattr(model.decode_head, 'forward', spy)
    sp = torch.arange(4).view(2, 2).repeat_interleave(16, 0) \
        .repeat_interleave(32, 1)[None]  # 32 x 64, 4 blocks of 16 x 32
    model.loss(torch.randn(1, 3, 32, 64), _samples(1, (32, 64), sp=sp))
    ids = seen['ids'][0]
    # padded to 64 x 64 (bottom half -1), then resized x2
    assert ids.shape == (128, 128)
    assert (ids[64:] == -1).all()
    assert ids[0, 0] == 0 and ids[0, 127] == 1 and ids[63, 0] == 2
    assert ids[32, 64] == 3


def test_predict_non_square_keeps_level_sets():
    model = MODELS.build(_cfg()).eval()
    sp = torch.arange(8).view(2, 4).repeat_interleave(16, 0) \
        .repeat_interleave(16, 1)[None]  # 32 x 64
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 64),
                            _samples(1, (32, 64), sp=sp))
    pred = out[0].pred_sem_seg.data[0]
    assert pred.shape == (32, 64)
    blocks = pred.view(2, 16, 4, 16)
    assert (blocks == blocks[:, :1, :, :1]).all()
