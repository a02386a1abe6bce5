"""Tests of SP-CAM thresholding (SPN, methods.md §1.3)."""
import pytest
import torch

from wsss_mmseg.models.ops.sp_cam import sp_cam_to_scores, sp_class_scores


def test_sp_class_scores_with_and_without_bias():
    pooled = torch.tensor([[1., 2.], [0., 1.]])
    weight = torch.tensor([[1., 0.], [0., 2.], [1., 1.]])
    bias = torch.tensor([0.5, 0., -1.])
    assert sp_class_scores(pooled, weight).tolist() == [[1, 4, 3], [0, 2, 1]]
    assert sp_class_scores(pooled, weight, bias).tolist() == [
        [1.5, 4, 2], [0.5, 2, 0]]


def test_threshold_background_and_overlap_rule():
    # class 0 max 4, class 1 max 10; 1 pixel row of 5
    cam = torch.tensor([[[[4., 3., 1., 0., 2.]], [[0., 9., 6., 1., 4.]]]])
    present = torch.tensor([[1, 1]])
    out = sp_cam_to_scores(cam, present, threshold=0.5)
    assert out.shape == (1, 3, 1, 5)
    label = out.argmax(1)[0, 0].tolist()
    # px0: c0 n=1 -> 1; px1: c0 n=.75, c1 n=.9 -> c1 (2);
    # px2: c0 .25 no, c1 .6 -> 2; px3: none -> bg; px4: c0 .5 (passes),
    # c1 .4 -> 1
    assert label == [1, 2, 2, 0, 1]
    assert (out >= 0).all()


def test_absent_class_never_wins():
    cam = torch.tensor([[[[1., 1.]], [[100., 0.]]]])
    out = sp_cam_to_scores(cam, torch.tensor([[1, 0]]))
    assert out.argmax(1).tolist() == [[[1, 1]]]
    out = sp_cam_to_scores(cam, torch.tensor([[0, 0]]))
    assert out.argmax(1).tolist() == [[[0, 0]]]


def test_non_positive_max_uses_range():
    cam = torch.tensor([[[[-3., -1., -2.]]]])
    out = sp_cam_to_scores(cam, torch.tensor([[1]]))
    # (m - min) / (max - min) = 0, 1, .5 -> bg, fg, fg
    assert out.argmax(1).tolist() == [[[0, 1, 1]]]
    # a constant map attains its max everywhere
    flat = sp_cam_to_scores(torch.zeros(1, 1, 1, 3), torch.tensor([[1]]))
    assert flat.argmax(1).tolist() == [[[1, 1, 1]]]


def test_shape_errors():
    with pytest.raises(ValueError, match='present must be'):
        sp_cam_to_scores(torch.zeros(1, 2, 3, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        sp_cam_to_scores(torch.zeros(2, 3, 3), torch.ones(1, 2))
