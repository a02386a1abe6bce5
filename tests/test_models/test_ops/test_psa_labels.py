"""PSA confident regions (la/ha CRF rule) and the stride-8 label grid."""
import numpy as np
import pytest
import torch

from wsss_mmseg.models.ops.psa_labels import (combine_confident_regions,
                                              label_grid,
                                              psa_confident_regions)


def test_combine_rule():
    la = np.array([[0, 1, 2, 0]])
    ha = np.array([[0, 1, 0, 3]])
    out = combine_confident_regions(la, ha)
    # bg in la -> unsure, unless ha also says bg; fg kept from la
    assert out.tolist() == [[0, 1, 0, 255]]
    with pytest.raises(ValueError, match='differ in shape'):
        combine_confident_regions(la, ha[:, :2])


def _photo_and_cam():
    from skimage import data
    image = np.ascontiguousarray(data.astronaut()[::8, ::8])  # 64x64 RGB
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    # one class peaking in the middle, decaying outwards
    cam = np.clip(1 - np.hypot(yy - h / 2, xx - w / 2) / (h / 2.5), 0, 1)
    cams = np.zeros((3, h, w), np.float32)
    cams[1] = cam
    return image, cams


def test_confident_regions_on_a_photo():
    image, cams = _photo_and_cam()
    label = psa_confident_regions(image, cams, present=[1])
    assert label.dtype == np.uint8 and label.shape == image.shape[:2]
    values = set(np.unique(label).tolist())
    assert values <= {0, 2, 255}
    assert {0, 2, 255} <= values  # bg, the class (id 1 + 1) and unsure
    # the peak is confident foreground, the corners confident background
    assert label[32, 32] == 2 and label[0, 0] == 0
    # the foreground of the la CRF is inside the ha CRF foreground: more
    # unsure pixels with a wider alpha gap
    narrow = psa_confident_regions(image, cams, [1], 4, 8)
    assert (narrow == 255).sum() <= (label == 255).sum()
    # present classes default to the non-zero maps
    assert np.array_equal(psa_confident_regions(image, cams), label)


def test_no_confident_foreground():
    image, cams = _photo_and_cam()
    label = psa_confident_regions(image, np.zeros_like(cams), present=[])
    assert (label == 0).all()


def test_label_grid_votes():
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, :8, :8] = 3           # cell (0, 0): all class 3
    labels[0, :8, 8:13] = 255       # cell (0, 1): 40 ignore vs 24 bg
    labels[0, 8:, :3] = 1           # cell (1, 0): 24 class 1 vs 40 bg
    grid = label_grid(labels, num_classes=4)
    assert grid.tolist() == [[[3, 255], [0, 0]]]
    with pytest.raises(ValueError, match='outside'):
        label_grid(torch.full((1, 8, 8), 7), num_classes=4)
