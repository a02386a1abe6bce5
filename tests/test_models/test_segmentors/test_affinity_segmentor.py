"""AffinitySegmentor: training on confident regions, random-walk predict."""
import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.ops.random_walk import random_walk, random_walk_dense
from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS

NUM_CLASSES = 4
TINY_ARCH = dict(
    stem_channels=8,
    stage_channels=[(8, 8), (8, 16), (16, 16), (16, 16)],
    stage_blocks=[1, 1, 1, 1],
    bottleneck_channels=[16, 16])


def cam_cfg(num_classes=NUM_CLASSES):
    return dict(
        type='CAMSegmentor',
        backbone=dict(
            type='ResNet38d', arch=TINY_ARCH, out_indices=(2, ),
            frozen_stages=-1, norm_eval=False),
        decode_head=dict(
            type='CAMHead', in_channels=16, num_classes=num_classes,
            dropout_ratio=0.5),
        test_cfg=dict(scales=(1.0, 0.5), flip=True))


def aff_cfg(cam_model=None, cam_checkpoint=None, **test_cfg):
    return dict(
        type='AffinitySegmentor',
        backbone=dict(
            type='ResNet38d', arch=TINY_ARCH, out_indices=(0, 1, 2),
            frozen_stages=-1, norm_eval=False),
        decode_head=dict(
            type='AffinityHead', in_channels=(16, 16, 16),
            num_classes=NUM_CLASSES, proj_channels=(4, 4, 8)),
        cam_model=cam_model,
        cam_checkpoint=cam_checkpoint,
        test_cfg=dict(rw_beta=8, rw_logt=4, **test_cfg))


def samples(size, labels=None, with_img_labels=True):
    out = []
    for i in range(2):
        ds = SegDataSample(
            metainfo=dict(img_path=f'img{i}.jpg', ori_shape=size,
                          img_shape=size))
        if labels is not None:
            ds.gt_sem_seg = PixelData(data=labels[i][None])
        if with_img_labels:
            set_img_labels(ds, torch.tensor([1.0, 1.0, 0.0, 1.0]))
        out.append(ds)
    return out


@pytest.fixture
def cam_checkpoint(tmp_path):
    torch.manual_seed(0)
    cam = MODELS.build(cam_cfg())
    path = tmp_path / 'cam.pth'
    torch.save({'state_dict': cam.state_dict(), 'meta': {}}, path)
    return str(path), cam


def test_loss_backward():
    model = MODELS.build(aff_cfg())
    labels = torch.zeros(2, 96, 96, dtype=torch.long)
    labels[:, 30:70, 20:60] = 1
    labels[1, :, 80:] = 255
    inputs = torch.rand(2, 3, 96, 96)
    losses = model.loss(inputs, samples((96, 96), labels))
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert torch.isfinite(total) and total > 0
    total.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    # the CAM network is not part of the model (not trained, not saved)
    assert not any(k.startswith('cam') for k in model.state_dict())


def test_predict_is_random_walk_of_the_cams(cam_checkpoint):
    path, cam = cam_checkpoint
    model = MODELS.build(aff_cfg(cam_cfg(), path)).eval()
    inputs = torch.rand(2, 3, 90, 84)  # not multiples of 8
    data = samples((90, 84))
    with torch.no_grad():
        out = model.predict(inputs, data)
        # CAMs of the loaded CAM network, as CAMSegmentor computes them
        cams = cam.eval().predict_cams(inputs, copy.deepcopy(data))
    assert torch.allclose(model.cam_model.predict_cams(inputs, data), cams)
    seg = out[0].pred_sem_seg.data
    assert seg.shape == (1, 90, 84)
    # absent class 2 never predicted; scores non-negative
    assert not (seg == 2).any()
    logits = out[0].seg_logits.data
    assert logits.shape == (4, 90, 84) and (logits >= 0).all()
    # the walk itself: pad to 96x88, pool, propagate, upsample, crop
    with torch.no_grad():
        scores = model.walk_inputs(inputs, data)
        assert torch.allclose(scores[:, 0],
                              (1 - cams.max(1).values).pow(16))
        padded = torch.nn.functional.pad(scores, (0, 4, 0, 6))
        grid = torch.nn.functional.avg_pool2d(padded, 8, 8)
        aff = model.affinities(torch.nn.functional.pad(inputs, (0, 4, 0, 6)))
        assert grid.shape[-2:] == (12, 11)
        walked = random_walk(grid, aff, beta=8, logt=4)
        assert torch.allclose(walked, random_walk_dense(grid, aff, 8, 4),
                              atol=1e-4)
        up = torch.nn.functional.interpolate(
            walked, size=(96, 88), mode='bilinear',
            align_corners=False)[..., :90, :84]
        assert torch.allclose(model.predict_scores(inputs, data), up,
                              atol=1e-5)


def test_class_count_mismatch(cam_checkpoint, tmp_path):
    with pytest.raises(ValueError, match='num_classes=5.*has 4'):
        MODELS.build(aff_cfg(cam_cfg(num_classes=5)))
    # a checkpoint trained for another class count
    other = MODELS.build(cam_cfg(num_classes=6))
    path = tmp_path / 'cam6.pth'
    torch.save({'state_dict': other.state_dict()}, path)
    model = MODELS.build(aff_cfg(cam_cfg(), str(path))).eval()
    with pytest.raises(ValueError, match='5 foreground classes'):
        model.predict(torch.rand(2, 3, 80, 80), samples((80, 80)))


def test_missing_cam_model_or_checkpoint(tmp_path):
    model = MODELS.build(aff_cfg()).eval()
    with pytest.raises(ValueError, match='model.cam_model'):
        model.predict(torch.rand(2, 3, 80, 80), samples((80, 80)))
    model = MODELS.build(aff_cfg(cam_cfg(),
                                 str(tmp_path / 'nope.pth'))).eval()
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        model.predict(torch.rand(2, 3, 80, 80), samples((80, 80)))
    with pytest.raises(FileNotFoundError, match='no_such_cam.py'):
        MODELS.build(aff_cfg('configs/psa/no_such_cam.py'))


def test_missing_confident_regions():
    model = MODELS.build(aff_cfg())
    with pytest.raises(ValueError, match='img0.jpg'):
        model.loss(torch.rand(2, 3, 96, 96), samples((96, 96)))


@pytest.mark.parametrize('method', ['stencil', 'csr'])
def test_rw_method_key(cam_checkpoint, method):
    path, _ = cam_checkpoint
    default = MODELS.build(aff_cfg(cam_cfg(), path)).eval()
    other = MODELS.build(aff_cfg(cam_cfg(), path, rw_method=method)).eval()
    other.load_state_dict(default.state_dict())
    inputs = torch.rand(2, 3, 64, 72)
    with torch.no_grad():
        a = default.predict_scores(inputs, samples((64, 72)))
        b = other.predict_scores(inputs, samples((64, 72)))
    assert torch.allclose(a, b, atol=1e-4)
    bad = MODELS.build(aff_cfg(cam_cfg(), path, rw_method='nope')).eval()
    with pytest.raises(ValueError, match='nope'):
        with torch.no_grad():
            bad.predict_scores(inputs, samples((64, 72)))
