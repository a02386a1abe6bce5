import math

import pytest
import torch
import torch.nn.functional as F

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.losses import MultiLabelBCELoss
from wsss_mmseg.models.losses.multilabel_bce_loss import multilabel_bce
from wsss_mmseg.registry import MODELS


def test_logits_hand_computed():
    loss = MultiLabelBCELoss()
    pred = torch.tensor([[0.0, 2.0]])
    target = torch.tensor([[1.0, 0.0]])
    # -log(sigmoid(0)) = log 2; -log(1 - sigmoid(2)) = log(1 + e^2)
    expected = (math.log(2) + math.log(1 + math.e**2)) / 2
    assert loss(pred, target).item() == pytest.approx(expected, rel=1e-6)
    assert loss.loss_name == 'loss_cls'


def test_logits_equal_multilabel_soft_margin():
    torch.manual_seed(0)
    pred = torch.randn(4, 7)
    target = (torch.rand(4, 7) > 0.5).float()
    ours = MODELS.build(dict(type='MultiLabelBCELoss'))(pred, target)
    ref = F.multilabel_soft_margin_loss(pred, target)
    torch.testing.assert_close(ours, ref)


def test_logits_numerically_stable():
    loss = MultiLabelBCELoss()
    pred = torch.tensor([[100.0, -100.0]], requires_grad=True)
    target = torch.tensor([[0.0, 1.0]])
    value = loss(pred, target)
    value.backward()
    assert value.item() == pytest.approx(100.0, rel=1e-6)
    assert torch.isfinite(pred.grad).all()


def test_probabilities_hand_computed():
    loss = MultiLabelBCELoss(use_sigmoid=False)
    pred = torch.tensor([[0.9, 0.2]])
    target = torch.tensor([[1.0, 0.0]])
    expected = (-math.log(0.9) - math.log(0.8)) / 2
    assert loss(pred, target).item() == pytest.approx(expected, rel=1e-6)


def test_probabilities_clipped():
    loss = MultiLabelBCELoss(use_sigmoid=False, reduction='none')
    # wrong with certainty, and outside [0, 1]: clipped to 1e-7 / 1 - 1e-7
    pred = torch.tensor([[0.0, 1.0, -0.5, 1.5]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    out = loss(pred, target)
    expected = -math.log(1e-7)
    torch.testing.assert_close(out, torch.full((1, 4), expected),
                               rtol=1e-4, atol=1e-4)
    # right with certainty: close to zero, not exactly -log(1)
    right = loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))
    assert (right > 0).all() and (right < 1e-6).all()
    out.sum().backward()
    assert torch.isfinite(pred.grad).all()
    custom = MultiLabelBCELoss(use_sigmoid=False, clip_eps=0.1)
    assert custom(torch.tensor([[0.0]]), torch.tensor([[1.0]])).item() == \
        pytest.approx(-math.log(0.1), rel=1e-6)


def test_reductions_weights_and_loss_weight():
    pred = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    log2 = math.log(2)
    none = MultiLabelBCELoss(reduction='none')(pred, target)
    torch.testing.assert_close(none, torch.full((2, 2), log2))
    assert MultiLabelBCELoss(reduction='sum')(pred, target).item() == \
        pytest.approx(4 * log2)
    weighted = MultiLabelBCELoss(class_weight=[2.0, 0.0])(pred, target)
    assert weighted.item() == pytest.approx(log2)  # (2 + 0 + 2 + 0) / 4
    assert MultiLabelBCELoss(loss_weight=3.0)(pred, target).item() == \
        pytest.approx(3 * log2)
    loss = MultiLabelBCELoss()
    assert loss(pred, target, avg_factor=2).item() == \
        pytest.approx(2 * log2, rel=1e-5)
    elem_weight = torch.tensor([[1.0], [0.0]])
    assert loss(pred, target, weight=elem_weight).item() == \
        pytest.approx(log2 / 2)
    assert loss(pred, target, reduction_override='sum').item() == \
        pytest.approx(4 * log2)


def test_element_function_matches_module():
    pred = torch.tensor([[0.3, 0.6]])
    target = torch.tensor([[1.0, 0.0]])
    torch.testing.assert_close(
        multilabel_bce(pred, target, use_sigmoid=False),
        torch.tensor([[-math.log(0.3), -math.log(0.4)]]))


def test_bad_input():
    loss = MultiLabelBCELoss(loss_name='loss_mce')
    with pytest.raises(ValueError, match='loss_mce.*NaN'):
        loss(torch.tensor([[float('nan'), 0.0]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match='targets contain NaN'):
        loss(torch.zeros(1, 2), torch.tensor([[float('nan'), 0.0]]))
    with pytest.raises(ValueError, match=r'same \(B, C\) shape'):
        loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="must start with 'loss_'"):
        MultiLabelBCELoss(loss_name='mce')
    with pytest.raises(ValueError, match='reduction must be one of'):
        MultiLabelBCELoss(reduction='avg')
    with pytest.raises(ValueError, match='reduction must be one of'):
        loss(torch.zeros(1, 2), torch.zeros(1, 2), reduction_override='avg')
    with pytest.raises(ValueError, match='class_weight has 3 entries'):
        MultiLabelBCELoss(class_weight=[1, 1, 1])(torch.zeros(1, 2),
                                                  torch.zeros(1, 2))
    with pytest.raises(ValueError, match='clip_eps'):
        MultiLabelBCELoss(use_sigmoid=False, clip_eps=0.7)
