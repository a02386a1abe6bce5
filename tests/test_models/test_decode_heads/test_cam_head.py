import pytest
import torch
import torch.nn.functional as F
from mmseg.structures import SegDataSample

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.decode_heads import CAMHead
from wsss_mmseg.models.utils import set_img_labels
from wsss_mmseg.registry import MODELS


def _samples(labels):
    out = []
    for i, lab in enumerate(labels):
        ds = SegDataSample(metainfo=dict(img_path=f'img{i}.jpg'))
        set_img_labels(ds, torch.tensor(lab, dtype=torch.float32))
        out.append(ds)
    return out


def test_logits_and_cams_shapes():
    head = MODELS.build(
        dict(type='CAMHead', in_channels=8, num_classes=6, in_index=1))
    head.init_weights()
    feats = (torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 5))
    assert head(feats).shape == (2, 5)
    cams = head.cams(feats)
    assert cams.shape == (2, 5, 4, 5)
    assert (cams >= 0).all()
    assert head.num_fg_classes == 5
    assert head.classifier.bias is None
    # a single tensor is accepted as the selected map
    assert head(feats[1]).shape == (2, 5)


def test_logits_are_mean_of_raw_cam_plus_bias():
    head = CAMHead(in_channels=4, num_classes=4, bias=True)
    torch.nn.init.normal_(head.classifier.bias)
    feat = torch.randn(3, 4, 5, 6)
    raw = F.conv2d(feat, head.classifier.weight)
    expected = raw.mean((2, 3)) + head.classifier.bias
    torch.testing.assert_close(head([feat]), expected)
    # CAM ignores the bias (CAM eq. 2) and rectifies
    torch.testing.assert_close(head.cams([feat]), raw.clamp(min=0))


def test_sqrt_variant_and_dropout():
    head = CAMHead(in_channels=4, num_classes=3, cam_sqrt=True,
                   dropout_ratio=0.5)
    feat = torch.randn(1, 4, 3, 3)
    raw = F.conv2d(feat, head.classifier.weight).clamp(min=0)
    head.train()
    # CAMs never use dropout, logits do in training mode
    torch.testing.assert_close(head.cams([feat]), raw.sqrt())
    assert isinstance(head.dropout, torch.nn.Dropout2d)
    head.eval()
    torch.testing.assert_close(head([feat]), F.conv2d(
        feat, head.classifier.weight).mean((2, 3)))


def test_inits():
    torch.manual_seed(0)
    xavier = CAMHead(in_channels=64, num_classes=21)
    xavier.init_weights()
    bound = (6 / (64 + 20))**0.5
    w = xavier.classifier.weight
    assert w.abs().max() <= bound and w.abs().max() > 0.8 * bound
    normal = CAMHead(in_channels=64, num_classes=21, classifier_init='normal')
    normal.init_weights()
    assert normal.classifier.weight.std().item() == pytest.approx(0.01,
                                                                  rel=0.2)
    with pytest.raises(ValueError, match="'xavier' or 'normal'"):
        CAMHead(in_channels=4, num_classes=3, classifier_init='kaiming')


def test_loss_drops_background():
    head = CAMHead(in_channels=4, num_classes=3)
    feat = torch.randn(2, 4, 3, 3, requires_grad=True)
    samples = _samples([[1, 1, 0], [1, 0, 1]])
    losses = head.loss([feat], samples)
    logits = head([feat])
    expected = F.multilabel_soft_margin_loss(
        logits, torch.tensor([[1., 0.], [0., 1.]]))
    torch.testing.assert_close(losses['loss_cls'], expected)
    assert 0 <= losses['acc_cls'] <= 1
    losses['loss_cls'].backward()
    assert head.classifier.weight.grad.abs().sum() > 0


def test_custom_loss_name():
    head = CAMHead(
        in_channels=4,
        num_classes=3,
        loss_cls=dict(
            type='MultiLabelBCELoss', use_sigmoid=True, loss_name='loss_mce',
            loss_weight=2.0))
    losses = head.loss([torch.randn(2, 4, 3, 3)], _samples([[1, 1, 0]] * 2))
    assert set(losses) == {'loss_mce', 'acc_cls'}


def test_bad_input():
    head = CAMHead(in_channels=4, num_classes=3, in_index=2)
    with pytest.raises(IndexError, match='in_index=2 but the backbone/neck '
                       'gives 1 feature maps'):
        head([torch.randn(1, 4, 2, 2)])
    head = CAMHead(in_channels=4, num_classes=3)
    with pytest.raises(ValueError, match=r'expected a \(B, 4, h, w\)'):
        head([torch.randn(1, 5, 2, 2)])
    with pytest.raises(ValueError, match='missing for'):
        head.loss([torch.randn(1, 4, 2, 2)], [SegDataSample()])
    with pytest.raises(ValueError, match='have 4 entries but the head has '
                       'num_classes=3'):
        head.loss([torch.randn(1, 4, 2, 2)], _samples([[1, 0, 1, 0]]))
    with pytest.raises(ValueError, match='must be >= 2'):
        CAMHead(in_channels=4, num_classes=1)
