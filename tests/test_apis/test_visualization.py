"""Grids of score heat maps, pseudo labels and ground truth."""
import numpy as np
import pytest
from skimage import data as skdata

from wsss_mmseg.apis import (colorize_labels, draw_pseudo_label_grid,
                             score_heatmap, voc_palette)


def test_colorize_uses_voc_palette_and_void():
    label = np.array([[0, 1], [15, 255]])
    rgb = colorize_labels(label)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[1, 0], voc_palette()[15])
    np.testing.assert_array_equal(rgb[1, 1], [224, 224, 192])
    custom = colorize_labels(label, palette=[[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(custom[0, 1], [4, 5, 6])
    np.testing.assert_array_equal(custom[1, 1], [224, 224, 192])


def test_heatmap_follows_score():
    image = np.zeros((8, 8, 3), np.uint8)
    score = np.zeros((8, 8), np.float32)
    score[:4] = 2.0
    heat = score_heatmap(image, score)
    # JET: high scores red, zero blue
    assert heat[0, 0, 0] > heat[0, 0, 2] and heat[7, 7, 2] > heat[7, 7, 0]
    assert score_heatmap(image, np.zeros((8, 8))).shape == (8, 8, 3)


def test_grid_layout_on_real_photo():
    image = skdata.chelsea()[::4, ::4].copy()  # (75, 113, 3)
    h, w = image.shape[:2]
    scores = np.random.RandomState(0).rand(4, h, w).astype(np.float32)
    pseudo = scores.argmax(0)
    gt = np.zeros((h, w), np.int64)
    gt[:, :10] = 255
    names = ['background', 'cat', 'dog', 'bird']
    grid = draw_pseudo_label_grid(
        image, scores, pseudo, gt, names, img_labels=np.array([1, 1, 0, 0]),
        height=60, title='chelsea')
    tile_w = round(w * 60 / h)
    # image + 2 heat maps (labelled classes) + pseudo + gt
    assert grid.shape[1] == 5 * tile_w
    assert grid.shape[0] > 60 + 18  # caption strip and legend
    grid_all = draw_pseudo_label_grid(image, scores, None, None, names,
                                      max_heatmaps=3, height=60)
    assert grid_all.shape == (78, 4 * tile_w, 3)
    with pytest.raises(ValueError, match='do not match'):
        draw_pseudo_label_grid(image, scores[:, :5], None, None, names)
    with pytest.raises(ValueError, match='pseudo label of shape'):
        draw_pseudo_label_grid(image, None, pseudo[:5], None, names)
