"""PatchContrastLoss module: weighting, layouts, G^4 guard."""
import pytest
import torch

from wsss_mmseg.models.losses import PatchContrastLoss
from wsss_mmseg.models.ops import patch_contrast_loss


def test_weight_and_map_layout():
    torch.manual_seed(0)
    emb = torch.randn(2, 6, 3, 3)
    probs = torch.zeros(2, 3, 3, 3)
    probs[:, 1, :2] = 0.9  # class 1 confident on the first two rows
    probs[:, 0] = 1 - probs[:, 1]
    labels = torch.tensor([[1., 1., 0.], [1., 1., 1.]])
    loss = PatchContrastLoss(loss_weight=0.02)(emb, probs, labels)
    ref = patch_contrast_loss(
        emb.flatten(2).transpose(1, 2), probs.flatten(2).transpose(1, 2),
        labels)
    assert ref > 0
    torch.testing.assert_close(loss, 0.02 * ref)


def test_guards():
    with pytest.raises(ValueError, match='max_patches'):
        PatchContrastLoss(max_patches=16)(
            torch.rand(1, 4, 5, 5), torch.rand(1, 2, 5, 5), torch.ones(1, 2))
    with pytest.raises(ValueError, match="start with 'loss_'"):
        PatchContrastLoss(loss_name='pcl')
    with pytest.raises(ValueError, match='tau'):
        PatchContrastLoss(tau=1.5)
