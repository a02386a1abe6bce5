import pytest
import torch

from wsss_mmseg.models.losses import PatchEquivarianceLoss
from wsss_mmseg.models.ops import random_affine


def test_weighted_loss_and_identity_view():
    probs = torch.rand(4, 3, 6, 6).softmax(1)
    ident = random_affine(4, scale=(1, 1), max_translate=0, flip_prob=0)
    loss = PatchEquivarianceLoss(loss_weight=0.5)
    entropy = -(probs * probs.log()).sum(1).mean()
    # an equivariant model (same prediction in the same frame): entropy only
    torch.testing.assert_close(loss(probs, probs, ident), 0.5 * entropy)
    other = probs.flip(-1)
    assert loss(other, probs, ident) > loss(probs, probs, ident)
    with pytest.raises(ValueError, match='differ in shape'):
        loss(probs[:, :2], probs, ident)


def test_transforms_and_bad_config():
    loss = PatchEquivarianceLoss(scale=(0.5, 0.5), flip_prob=0)
    theta = loss.sample_transforms(torch.zeros(8, 3, 4, 4))
    assert theta.shape == (8, 2, 3)
    torch.testing.assert_close(theta[:, 0, 0], torch.full((8, ), 2.0))
    with pytest.raises(ValueError, match='multiple of 4'):
        loss.sample_transforms(torch.zeros(6, 3, 4, 4))
    PatchEquivarianceLoss(mosaic=False).sample_transforms(
        torch.zeros(6, 3, 4, 4))
    with pytest.raises(ValueError, match='loss_name'):
        PatchEquivarianceLoss(loss_name='eq')
    with pytest.raises(ValueError, match='scale'):
        PatchEquivarianceLoss(scale=(1.5, 1.0))
