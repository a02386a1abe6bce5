"""APCSegmentor with a tiny ViT (patch 16): losses, warm-up, prediction at
384 and 960, label merging, bad input."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

register_all_modules()

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)


def tiny_cfg(num_classes=4, **overrides):
    cfg = Config.fromfile('configs/_base_/models/apc_vitb16.py').model
    cfg.num_classes = num_classes
    cfg.backbone.update(arch=TINY_VIT, out_indices=(0, 1), init_cfg=None)
    cfg.neck.update(in_channels=32, hidden_channels=8)
    cfg.patch_head.update(in_channels=32, num_classes=num_classes)
    cfg.decode_head.update(
        in_channels=[32, 32], in_index=[0, 1], channels=16,
        num_classes=num_classes)
    cfg.train_cfg.seg_loss_warmup_iters = 0
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def samples(labels, size=64, path='img'):
    out = []
    for i, lab in enumerate(labels):
        ds = SegDataSample(metainfo=dict(
            img_path=f'{path}{i}.jpg', ori_shape=(size, size),
            img_shape=(size, size)))
        set_img_labels(ds, torch.tensor(lab, dtype=torch.float32))
        out.append(ds)
    return out


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg())


def test_loss_at_384_and_backward(model):
    model.train()
    x = torch.randn(2, 3, 384, 384)
    losses = model.loss(x, samples([[1, 1, 0, 0], [1, 0, 1, 1]], 384))
    assert {'loss_mce', 'loss_l2', 'loss_pcl', 'loss_seg', 'acc_seg',
            'pseudo_label_ratio'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    assert model.patch_head.classifier.weight.grad is not None
    assert model.decode_head.conv_seg.weight.grad is not None
    assert model.backbone.layers[0].ln1.weight.grad is not None
    model.zero_grad()


def test_grid_and_outputs_at_384_and_960(model):
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 384, 384))
        assert [f.shape for f in feats] == [(1, 32, 24, 24)] * 2
        feats = model.extract_feat(torch.randn(1, 3, 960, 960))
        assert [f.shape for f in feats] == [(1, 32, 60, 60)] * 2
        scores = model.predict_scores(torch.randn(1, 3, 960, 960))
    assert scores.shape == (1, 4, 960, 960)
    assert scores.min() >= 0
    torch.testing.assert_close(scores.sum(1), torch.ones(1, 960, 960))


def test_patch_output_merges_labels():
    torch.manual_seed(0)
    cfg = tiny_cfg()
    cfg.test_cfg.output = 'patch'
    model = MODELS.build(cfg).eval()
    x = torch.randn(2, 3, 64, 64)
    ds = samples([[1, 0, 1, 0], [1, 1, 1, 1]])
    with torch.no_grad():
        merged = model.predict_scores(x, ds)
        raw = model.predict_scores(x, None)
        results = model.predict(x, ds)
    assert merged.shape == (2, 4, 64, 64)
    # absent classes are 0 after merging; each present class peaks at 1
    assert merged[0, [1, 3]].abs().max() == 0
    torch.testing.assert_close(raw.sum(1), torch.ones(2, 64, 64))
    pred = results[0].pred_sem_seg.data
    assert pred.shape == (1, 64, 64)
    assert set(pred.unique().tolist()) <= {0, 2}


def test_seg_loss_warm_up_and_iteration_buffer():
    torch.manual_seed(0)
    cfg = tiny_cfg()
    cfg.train_cfg.seg_loss_warmup_iters = 2
    cfg.train_cfg.pseudo_label_conf_thresh = 0.0
    model = MODELS.build(cfg).train()
    x = torch.randn(1, 3, 64, 64)
    ds = samples([[1, 1, 0, 0]])
    seen = [model.loss(x, ds)['loss_seg'].item() for _ in range(3)]
    assert seen[0] == 0 and seen[1] == 0 and seen[2] > 0
    assert int(model.train_iter) == 3
    assert 'train_iter' in model.state_dict()


def test_pseudo_labels_follow_merged_patches(model):
    probs = torch.zeros(1, 4, 2, 2)
    probs[0, 0] = torch.tensor([[0.97, 0.1], [0.5, 0.1]])
    probs[0, 2] = torch.tensor([[0.03, 0.9], [0.5, 0.2]])
    probs[0, 3] = 1 - probs[0, 0] - probs[0, 2]
    labels = torch.tensor([[1., 0., 1., 0.]])  # class 3 absent
    pseudo = model.pseudo_labels(probs, labels, (4, 4))
    # merged: bg (.97,.1,.5,.1)/.97, c2 (.03,.9,.5,.2)/.9 -> renormalised
    # patch 3 (bottom right): bg .103 vs c2 .222 -> c2 .68 < 0.9 -> ignore
    expected = torch.tensor([[0, 0, 2, 2], [0, 0, 2, 2],
                             [255, 255, 255, 255], [255, 255, 255, 255]])
    assert torch.equal(pseudo[0], expected)


def test_pcl_and_decoder_optional():
    cfg = tiny_cfg(loss_pcl=None, decode_head=None)
    cfg.test_cfg.output = 'patch'
    model = MODELS.build(cfg).train()
    losses = model.loss(torch.randn(1, 3, 32, 32), samples([[1, 1, 0, 0]]))
    assert set(losses) == {'loss_mce', 'loss_l2'}
    with pytest.raises(ValueError, match="needs a decode_head"):
        cfg.test_cfg.output = 'decoder'
        MODELS.build(cfg)


def test_bad_input(model):
    model.train()
    with pytest.raises(ValueError, match=r"bad0\.jpg.*no foreground class"):
        model.loss(torch.randn(1, 3, 64, 64),
                   samples([[1, 0, 0, 0]], path='bad'))
    with pytest.raises(ValueError, match='smaller than one 16x16 patch'):
        model.loss(torch.randn(1, 3, 8, 64), samples([[1, 1, 0, 0]]))
    with pytest.raises(ValueError, match='gt_img_labels have 3 classes'):
        model.loss(torch.randn(1, 3, 64, 64), samples([[1, 1, 0]]))
    x = torch.randn(1, 3, 64, 64)
    x[..., 0, 0] = float('nan')
    with pytest.raises(FloatingPointError, match='NaN'):
        model.loss(x, samples([[1, 1, 0, 0]]))
    with pytest.raises(ValueError, match='test_cfg.output'):
        cfg = tiny_cfg()
        cfg.test_cfg.output = 'cam'
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='patch_head.num_classes'):
        cfg = tiny_cfg()
        cfg.patch_head.num_classes = 3
        MODELS.build(cfg)


def test_data_samples_with_gt_sem_seg_are_untouched(model):
    model.train()
    ds = samples([[1, 1, 0, 0]])
    ds[0].gt_sem_seg = PixelData(data=torch.zeros(1, 64, 64, dtype=torch.long))
    before = copy.deepcopy(ds[0].gt_sem_seg.data)
    model.loss(torch.randn(1, 3, 64, 64), ds)
    assert torch.equal(ds[0].gt_sem_seg.data, before)


@pytest.mark.parametrize('mosaic', [True, False])
def test_equivariance_loss_option(mosaic):
    torch.manual_seed(0)
    cfg = tiny_cfg(loss_equivariance=dict(
        type='PatchEquivarianceLoss', mosaic=mosaic, loss_weight=0.5))
    model = MODELS.build(cfg).train()
    labels = [[1, 1, 0, 0], [1, 0, 1, 1], [1, 0, 0, 1], [1, 1, 1, 0]]
    x = torch.randn(4, 3, 128, 128)
    calls = []
    model.backbone.register_forward_hook(
        lambda m, i, o: calls.append(tuple(i[0].shape[-2:])))
    losses = model.loss(x, samples(labels, 128))
    # first view, then the second views (one 256 x 256 mosaic of four)
    assert calls == [(128, 128), (256, 256) if mosaic else (128, 128)]
    loss = losses['loss_eq']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.patch_head.classifier.weight.grad.abs().sum() > 0
    # off by default
    assert 'loss_eq' not in MODELS.build(tiny_cfg()).train().loss(
        x, samples(labels, 128))
    if mosaic:
        with pytest.raises(ValueError, match='multiple of 4'):
            model.loss(x[:2], samples(labels[:2], 128))
