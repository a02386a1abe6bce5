"""PCL on hand-made embeddings (methods.md §3.3)."""
import pytest
import torch

from wsss_mmseg.models.ops import patch_contrast_loss, patch_similarity

# 4 patches in 2-D: z0 = (1, 0), z1 = (0, 1), z2 = (0.6, 0.8), z3 = (-1, 0)
EMB = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.6, 0.8], [-3.0, 0.0]])
# class 1 probabilities: H_1 = {0, 1} at tau 0.85, lowest patch 3
P1 = torch.tensor([0.9, 0.95, 0.2, 0.1])


def inputs(p1=P1):
    probs = torch.stack([1 - p1, p1], -1)[None]  # (1, 4, 2)
    return EMB[None].clone(), probs, torch.tensor([[1.0, 1.0]])


def test_similarity_rescaled():
    s = patch_similarity(EMB[None])[0]
    assert s[0, 0].item() == pytest.approx(1.0)
    assert s[0, 1].item() == pytest.approx(0.5)  # orthogonal
    assert s[0, 3].item() == pytest.approx(0.0)  # opposite
    assert s[0, 2].item() == pytest.approx(0.8)  # (1 + 0.6) / 2


def test_hand_computed():
    # pull: pairs (0,1), (1,0): 1 - s = 0.5 each -> 0.5
    # push: s(0, 3) = 0, s(1, 3) = 0.5 -> 0.25
    loss = patch_contrast_loss(*inputs(), tau=0.85)
    assert loss.item() == pytest.approx(0.75)


def test_background_and_cross_class_options():
    # background probs 0.1 0.05 0.8 0.9: H_0 = {3}, lowest = patch 1
    # L_0 = s(3, 1) = 0.5 (no pairs) -> mean over classes (0.75 + 0.5) / 2
    emb, probs, labels = inputs()
    loss = patch_contrast_loss(emb, probs, labels, include_background=True)
    assert loss.item() == pytest.approx(0.625)
    # cross: H_0 x H_1 = s(3, 0) = 0, s(3, 1) = 0.5 -> 0.25
    loss = patch_contrast_loss(
        emb, probs, labels, include_background=True,
        cross_class_negatives=True)
    assert loss.item() == pytest.approx(0.875)


def test_single_patch_has_push_only():
    p1 = torch.tensor([0.9, 0.5, 0.2, 0.1])  # H = {0}
    loss = patch_contrast_loss(*inputs(p1))
    assert loss.item() == pytest.approx(0.0)  # s(0, 3) = 0, no pairs
    p1 = torch.tensor([0.5, 0.9, 0.2, 0.1])  # H = {1}
    assert patch_contrast_loss(*inputs(p1)).item() == pytest.approx(0.5)


def test_absent_class_and_no_confident_patch_give_zero_not_nan():
    emb, probs, _ = inputs()
    emb.requires_grad_(True)
    # class 1 absent from the labels
    loss = patch_contrast_loss(emb, probs, torch.tensor([[1.0, 0.0]]))
    assert loss.item() == 0.0
    # class present but no patch above tau
    emb, probs, labels = inputs(torch.tensor([0.5, 0.6, 0.2, 0.1]))
    emb.requires_grad_(True)
    loss = patch_contrast_loss(emb, probs, labels)
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert torch.isfinite(emb.grad).all()


def test_batch_averages_images_with_valid_classes():
    emb, probs, labels = inputs()
    _, probs_low, _ = inputs(torch.tensor([0.5, 0.6, 0.2, 0.1]))
    loss = patch_contrast_loss(
        torch.cat([emb, emb]), torch.cat([probs, probs_low]),
        torch.cat([labels, labels]))
    assert loss.item() == pytest.approx(0.75)


def test_gradient_into_embeddings_only():
    emb, probs, labels = inputs()
    emb.requires_grad_(True)
    probs.requires_grad_(True)
    patch_contrast_loss(emb, probs, labels).backward()
    assert probs.grad is None
    assert emb.grad.abs().sum() > 0
    assert emb.grad[0, 2].abs().sum() == 0  # patch 2 is neither in H nor l


def test_bad_shapes():
    emb, probs, labels = inputs()
    with pytest.raises(ValueError, match='differ in'):
        patch_contrast_loss(emb[:, :3], probs, labels)
    with pytest.raises(ValueError, match='labels of shape'):
        patch_contrast_loss(emb, probs, labels[:, :1])
