import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.ops import normalize_cam_by_max
from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS


def _cfg(**test_cfg):
    return dict(
        type='CAMSegmentor',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True),
        backbone=dict(
            type='ResNetV1c',
            depth=18,
            stem_channels=8,
            base_channels=4,
            strides=(1, 2, 2, 1),
            dilations=(1, 1, 1, 2)),
        decode_head=dict(type='CAMHead', in_channels=32, num_classes=4),
        test_cfg=test_cfg)


def _build(**test_cfg):
    init_default_scope('wsss_mmseg')
    torch.manual_seed(0)
    model = MODELS.build(_cfg(**test_cfg))
    model.init_weights()
    # non-negative classifier weights make every CAM non-trivial
    with torch.no_grad():
        model.decode_head.classifier.weight.abs_()
    return model.eval()


def _samples(labels, size=(32, 32), **meta):
    out = []
    for lab in labels:
        ds = SegDataSample(
            metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size,
                          **meta))
        if lab is not None:
            set_img_labels(ds, torch.tensor(lab, dtype=torch.float32))
        out.append(ds)
    return out


def test_loss_and_backward():
    model = _build()
    model.train()
    x = torch.randn(2, 3, 32, 32)
    losses = model.loss(x, _samples([[1, 1, 0, 1], [1, 0, 1, 0]]))
    assert set(losses) == {'loss_cls', 'acc_cls'}
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='gt_img_labels.*missing'):
        model.loss(x, _samples([None, None]))


def test_predict_train_split():
    model = _build()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = model.predict(x, _samples([[1, 1, 0, 1], [1, 0, 1, 0]]))
    scores = out[0].seg_logits.data
    assert scores.shape == (4, 32, 32)
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert scores[0].eq(0.2).all()  # constant background score
    assert scores[2].eq(0).all()  # absent class zeroed
    assert scores[1].max() <= 1 and scores[3].max() > 0.9
    assert set(out[0].pred_sem_seg.data.unique().tolist()) <= {0, 1, 3}
    assert set(out[1].pred_sem_seg.data.unique().tolist()) <= {0, 2}


def test_predict_cams_sums_scales_before_normalising():
    """PSA order (§2.3): sum raw CAMs of all scales, then normalise."""
    model = _build(scales=(1.0, 0.5), flip=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        cams = model.predict_cams(x, _samples([[1, 1, 0, 1]]))
        total = 0
        for s in (32, 16):
            xs = F.interpolate(x, size=(s, s), mode='bilinear')
            for flip in (False, True):
                c = model.decode_head.cams(model.extract_feat(
                    xs.flip(-1) if flip else xs))
                c = F.interpolate(c, size=(32, 32), mode='bilinear')
                total = total + (c.flip(-1) if flip else c)
        total[:, 1] = 0
    torch.testing.assert_close(cams, normalize_cam_by_max(total))
    # and it is what predict() returns (single image, no resize needed)
    with torch.no_grad():
        out = model.predict(x, _samples([[1, 1, 0, 1]]))[0]
    torch.testing.assert_close(out.seg_logits.data[1:], cams[0])


def test_val_split_and_power_background():
    model = _build(bg_mode='power', bg_alpha=4)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        scores = model.predict_scores(x, _samples([None]))
    assert scores.shape == (1, 4, 32, 32)
    cams = scores[:, 1:]
    # no labels: all classes kept and normalised to max ~1
    torch.testing.assert_close(cams.amax((2, 3)), torch.ones(1, 3),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(scores[:, :1],
                               (1 - cams.amax(1, keepdim=True))**4)
    # use_img_labels=False ignores the labels
    model = _build(use_img_labels=False)
    with torch.no_grad():
        scores = model.predict_scores(x, _samples([[1, 1, 0, 0]]))
    assert scores[:, 3].max() > 0.9


def test_padding_excluded_from_maxima():
    model = _build()
    x = torch.randn(1, 3, 32, 32)
    ds = _samples([[1, 1, 1, 1]], size=(24, 28),
                  padding_size=[0, 4, 0, 8])
    ds[0].set_metainfo(dict(pad_shape=(32, 32)))
    with torch.no_grad():
        cams = model.predict_cams(x, ds)
        out = model.predict(x, ds)[0]
    assert cams[..., 24:, :].eq(0).all() and cams[..., 28:].eq(0).all()
    torch.testing.assert_close(cams[..., :24, :28].amax((2, 3)),
                               torch.ones(1, 3), atol=1e-4, rtol=0)
    assert out.pred_sem_seg.data.shape == (1, 24, 28)


def test_neck_and_pretrained_and_errors():
    init_default_scope('wsss_mmseg')
    cfg = _cfg()
    cfg['neck'] = dict(
        type='FPN', in_channels=[4, 8, 16, 32], out_channels=8, num_outs=4)
    cfg['decode_head'] = dict(
        type='CAMHead', in_channels=8, num_classes=4, in_index=0)
    model = MODELS.build(cfg)
    assert model.with_neck
    feats = model.extract_feat(torch.randn(1, 3, 32, 32))
    assert len(feats) == 4
    assert model.predict_scores(torch.randn(1, 3, 32, 32)).shape == (
        1, 4, 32, 32)

    cfg = _cfg()
    cfg['pretrained'] = 'some/checkpoint.pth'
    model = MODELS.build(cfg)
    assert model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint='some/checkpoint.pth')

    with pytest.raises(ValueError, match="bg_mode must be 'constant' or "
                       "'power', got 'otsu'"):
        MODELS.build(_cfg(bg_mode='otsu'))
    cfg = _cfg()
    del cfg['decode_head']['num_classes']
    with pytest.raises(KeyError, match='decode_head.num_classes'):
        MODELS.build(cfg)
    model = _build()
    with pytest.raises(ValueError, match='image labels have 3 classes but '
                       'the model predicts 4'):
        model.predict(torch.randn(1, 3, 32, 32), _samples([[1, 1, 0]]))


def test_cls_score_thresh_on_unlabelled_images():
    model = _build()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        probs = model.decode_head(model.extract_feat(x)).sigmoid()
        # a threshold between the scores: some classes kept, some rejected
        thresh = probs.flatten().sort().values[3].item()
        model.test_cfg['cls_score_thresh'] = thresh
        kept = probs >= thresh
        assert 0 < kept.sum() < kept.numel()
        cams = model.predict_cams(x, _samples([None, None]))
        assert cams.amax((2, 3)).gt(0.5).eq(kept).all()
        assert cams[~kept].eq(0).all()
        # labelled images ignore the classifier's decision
        labelled = model.predict_cams(x, _samples([[1, 1, 1, 1]] * 2))
        assert labelled.amax((2, 3)).gt(0.9).all()
        # everything rejected -> background only
        model.test_cfg['cls_score_thresh'] = 1.01
        out = model.predict(x, _samples([None, None]))
    assert all(o.pred_sem_seg.data.eq(0).all() for o in out)
    assert all(o.seg_logits.data[1:].eq(0).all() for o in out)


def test_checkpoint_round_trip(tmp_path):
    from mmengine.runner import load_checkpoint, save_checkpoint
    model = _build(scales=(1.0, 0.5), flip=True)
    path = str(tmp_path / 'cam.pth')
    save_checkpoint(model.state_dict(), path)
    init_default_scope('wsss_mmseg')
    torch.manual_seed(1)  # different random init
    other = MODELS.build(_cfg(scales=(1.0, 0.5), flip=True)).eval()
    load_checkpoint(other, path, strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(
            other.predict_scores(x, _samples([[1, 1, 0, 1]])),
            model.predict_scores(x, _samples([[1, 1, 0, 1]])))
