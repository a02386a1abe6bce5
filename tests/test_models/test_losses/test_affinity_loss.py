"""AffinityLoss: weighted, batch-normalised terms; empty terms are 0."""
import math

import pytest
import torch

from wsss_mmseg.models.losses import AffinityLoss


def test_hand_made_case():
    # batch of 2, two offsets, one source cell each
    aff = torch.tensor([[0.9, 0.2], [0.5, 0.6]]).reshape(2, 2, 1, 1)
    bg = torch.tensor([[1, 0], [0, 0]], dtype=torch.bool).reshape(2, 2, 1, 1)
    fg = torch.tensor([[0, 0], [1, 0]], dtype=torch.bool).reshape(2, 2, 1, 1)
    ng = torch.tensor([[0, 1], [0, 1]], dtype=torch.bool).reshape(2, 2, 1, 1)
    out = AffinityLoss()(aff, bg, fg, ng)
    eps = 1e-5
    assert out['loss_aff_bg'].item() == pytest.approx(
        0.25 * -math.log(0.9 + eps) / (1 + eps), rel=1e-5)
    assert out['loss_aff_fg'].item() == pytest.approx(
        0.25 * -math.log(0.5 + eps) / (1 + eps), rel=1e-5)
    # the negative term is normalised over the whole batch (2 pairs)
    expected_neg = -(math.log(1 + eps - 0.2) + math.log(1 + eps - 0.6)) / (
        2 + eps)
    assert out['loss_aff_neg'].item() == pytest.approx(
        0.5 * expected_neg, rel=1e-5)


def test_all_ignore_is_zero_not_nan():
    aff = torch.rand(2, 34, 4, 4, requires_grad=True)
    none = torch.zeros(2, 34, 4, 4, dtype=torch.bool)
    out = AffinityLoss()(aff, none, none, none)
    total = sum(out.values())
    assert total.item() == 0 and not torch.isnan(total)
    total.backward()
    assert (aff.grad == 0).all()


def test_name_must_start_with_loss():
    with pytest.raises(ValueError, match="start with 'loss_'"):
        AffinityLoss(loss_name='aff')
    assert AffinityLoss(loss_name='loss_x').loss_name == 'loss_x'
