"""AdaptiveKPatchHead: classifier, pooling modes, MCE loss, L2, NaN guard."""
import pytest
import torch

import wsss_mmseg  # noqa: F401  (registers MultiLabelBCELoss)
from wsss_mmseg.models.decode_heads import AdaptiveKPatchHead
from wsss_mmseg.models.ops import adaptive_k_pool


def head(**kwargs):
    cfg = dict(in_channels=8, num_classes=4, dropout=0.0)
    cfg.update(kwargs)
    return AdaptiveKPatchHead(**cfg)


def test_forward_softmax_and_no_bias():
    h = head()
    assert h.classifier.bias is None
    probs = h.predict(torch.rand(2, 8, 3, 3))
    assert probs.shape == (2, 4, 3, 3)
    torch.testing.assert_close(probs.sum(1), torch.ones(2, 3, 3))


@pytest.mark.parametrize('mode', ['max', 'avg', 'topk', 'akp', 'akp-ratio'])
def test_mce_matches_bce_of_pooled_scores(mode):
    torch.manual_seed(0)
    h = head(pool_mode=mode, akp_delta=0.5 if mode == 'akp-ratio' else 0.1)
    probs = torch.rand(2, 4, 3, 3).softmax(1)
    labels = torch.tensor([[0., 1., 0., 1.], [1., 0., 1., 0.]])
    losses = h.loss_by_probs(probs, labels)
    pooled = adaptive_k_pool(
        probs.flatten(2).transpose(1, 2), mode, delta=h.akp_delta, k_max=6)
    target = labels.clone()
    target[:, 0] = 1  # background always present
    expected = torch.nn.functional.binary_cross_entropy(pooled, target)
    torch.testing.assert_close(losses['loss_mce'], expected)
    assert 'loss_l2' not in losses


def test_l2_penalty():
    h = head(l2_weight=0.01)
    with torch.no_grad():
        h.classifier.weight.fill_(0.5)
    losses = h.loss(torch.rand(1, 8, 2, 2), torch.tensor([[1., 1., 0., 0.]]))
    assert losses['loss_l2'].item() == pytest.approx(0.01 * 32 * 0.25)


def test_bad_input():
    h = head()
    with pytest.raises(FloatingPointError, match='NaN'):
        h(torch.full((1, 8, 2, 2), float('nan')))
    with pytest.raises(ValueError, match='labels of shape'):
        h.loss(torch.rand(1, 8, 2, 2), torch.ones(1, 3))
    with pytest.raises(ValueError, match='pool_mode'):
        head(pool_mode='median')
