"""Label merging and patch-to-pixel labels (methods.md §3.4)."""
import pytest
import torch

from wsss_mmseg.models.ops import merge_patch_labels, patch_to_pixel_labels


def test_merge_hand_computed():
    # two patches a, b; classes bg, 1, 2; class 2 absent
    probs = torch.tensor([[0.5, 0.2], [0.3, 0.2], [0.2, 0.6]])[None, :, None]
    merged = merge_patch_labels(probs, torch.tensor([[1.0, 1.0, 0.0]]))
    # y * P: a = (.5, .3, 0), b = (.2, .2, 0); / spatial max (.5, .3, 0):
    # a = (1, 1, 0), b = (.4, 2/3, 0); renormalised per patch
    expected_b = torch.tensor([0.4, 2 / 3, 0.0])
    expected_b = expected_b / expected_b.sum()
    torch.testing.assert_close(merged[0, :, 0, 0],
                               torch.tensor([0.5, 0.5, 0.0]))
    torch.testing.assert_close(merged[0, :, 0, 1], expected_b)
    assert torch.isfinite(merged).all()


def test_merge_without_labels_is_identity_and_zero_patches_stay_zero():
    probs = torch.rand(2, 3, 4, 4)
    assert merge_patch_labels(probs, None) is probs
    probs = torch.zeros(1, 2, 2, 2)
    merged = merge_patch_labels(probs, torch.ones(1, 2))
    assert torch.equal(merged, torch.zeros_like(merged))


def test_patch_to_pixel_paints_patches_and_ignores_unconfident():
    merged = torch.tensor([[[0.95, 0.2], [0.5, 0.0]],
                           [[0.05, 0.8], [0.5, 1.0]]])[None]  # (1, 2, 2, 2)
    labels = patch_to_pixel_labels(merged, (4, 6), conf_thresh=0.9)
    assert labels.shape == (1, 4, 6) and labels.dtype == torch.long
    expected = torch.tensor([[0, 0, 0, 255, 255, 255],
                             [0, 0, 0, 255, 255, 255],
                             [255, 255, 255, 1, 1, 1],
                             [255, 255, 255, 1, 1, 1]])
    assert torch.equal(labels[0], expected)
    labels = patch_to_pixel_labels(merged, (2, 2), conf_thresh=0.0)
    assert torch.equal(labels[0], torch.tensor([[0, 1], [0, 1]]))


def test_bad_shapes():
    with pytest.raises(ValueError, match='do not match'):
        merge_patch_labels(torch.rand(1, 3, 2, 2), torch.ones(1, 4))
    with pytest.raises(ValueError, match=r'\(B, C, h, w\)'):
        patch_to_pixel_labels(torch.rand(3, 2, 2), (4, 4))
