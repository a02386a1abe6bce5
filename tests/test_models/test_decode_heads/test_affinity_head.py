"""AffinityHead: features, affinities, loss from confident regions."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from wsss_mmseg.models.decode_heads import AffinityHead
from wsss_mmseg.models.ops.affinity import affinity_from_features


def _head(**kwargs):
    cfg = dict(in_channels=(4, 8, 16), num_classes=4,
               proj_channels=(4, 4, 8))
    cfg.update(kwargs)
    return AffinityHead(**cfg)


def _feats(batch=2, size=(12, 14)):
    return [torch.rand(batch, c, *size) for c in (4, 8, 16)]


def _samples(labels):
    out = []
    for lab in labels:
        ds = SegDataSample(metainfo=dict(img_path='x.jpg'))
        ds.gt_sem_seg = PixelData(data=lab[None])
        out.append(ds)
    return out


def test_forward_and_affinities():
    head = _head()
    feats = _feats()
    f = head(feats)
    assert f.shape == (2, 16, 12, 14)
    aff = head.affinities(feats)
    assert aff.shape == (2, 34, 8, 6)
    assert torch.allclose(aff, affinity_from_features(f))
    assert (aff > 0).all() and (aff <= 1).all()
    assert head.fuse.bias is None
    assert all(p.bias is None for p in head.projections)


def test_group_norm_variant():
    head = _head(norm_groups=(2, 2, 4))
    assert isinstance(head.norms[2], torch.nn.GroupNorm)
    assert head.norms[2].num_groups == 4
    assert head(_feats()).shape == (2, 16, 12, 14)


def test_loss_and_gradients():
    head = _head()
    labels = torch.zeros(2, 96, 112, dtype=torch.long)
    labels[0, 20:60, 30:80] = 2
    labels[1, :, 50:] = 255
    labels[1, 40:, :40] = 3
    losses = head.loss(_feats(), _samples(labels))
    assert set(losses) >= {'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg'}
    assert losses['pairs_fg'] > 0 and losses['pairs_neg'] > 0
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    total.backward()
    assert head.fuse.weight.grad.abs().sum() > 0


def test_all_ignore_crop_and_no_foreground():
    head = _head()
    feats = _feats()
    ignore = torch.full((2, 96, 112), 255, dtype=torch.long)
    losses = head.loss(feats, _samples(ignore))
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert total.item() == 0 and not torch.isnan(total)
    total.backward()  # no error, zero gradients
    background = torch.zeros(2, 96, 112, dtype=torch.long)
    losses = head.loss(_feats(), _samples(background))
    assert losses['loss_aff_fg'].item() == 0
    assert losses['loss_aff_neg'].item() == 0
    assert losses['loss_aff_bg'].item() > 0


def test_label_size_not_multiple_of_stride():
    head = _head()
    # features of a 90x110 input have ceil(90/8)=12 x 14 cells
    labels = torch.zeros(2, 90, 110, dtype=torch.long)
    losses = head.loss(_feats(), _samples(labels))
    assert torch.isfinite(losses['loss_aff_bg'])


def test_errors():
    head = _head()
    ds = SegDataSample(metainfo=dict(img_path='data/toy/JPEGImages/a.jpg'))
    with pytest.raises(ValueError, match='JPEGImages/a.jpg'):
        head.loss(_feats(batch=1), [ds])
    with pytest.raises(ValueError, match='outside'):
        head.loss(_feats(batch=1),
                  _samples(torch.full((1, 96, 112), 9, dtype=torch.long)))
    with pytest.raises(ValueError, match='got 2 feature maps, expected 3'):
        head(_feats()[:2])
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        _head(distance='l2')
