"""SquareResize, RandomSquareResize and PadToSquare."""
import numpy as np
import pytest

from wsss_mmseg.datasets.transforms import (PadToSquare, RandomSquareResize,
                                            SquareResize)


def _results(h=30, w=50):
    img = np.random.RandomState(0).randint(0, 255, (h, w, 3), np.uint8)
    seg = np.zeros((h, w), np.uint8)
    seg[:, w // 2:] = 3
    seg[0, 0] = 255
    ys, xs = np.mgrid[0:h, 0:w]
    sp = ((ys // 10) * -(-w // 10) + xs // 10).astype(np.int32)  # 0..N-1
    return dict(img=img, gt_seg_map=seg, gt_superpixels=sp,
                seg_fields=['gt_seg_map', 'gt_superpixels'],
                img_shape=(h, w), ori_shape=(h, w))


def test_square_resize():
    out = SquareResize(40)(_results())
    assert out['img'].shape == (40, 40, 3)
    assert out['gt_seg_map'].shape == out['gt_superpixels'].shape == (40, 40)
    assert out['img_shape'] == (40, 40) and out['keep_ratio'] is False
    np.testing.assert_allclose(out['scale_factor'], (40 / 50, 40 / 30))
    # nearest: no new label values, left half 0 / right half 3
    assert set(np.unique(out['gt_seg_map'])) <= {0, 3, 255}
    assert (out['gt_seg_map'][:, 25:] == 3).all()
    assert (out['gt_seg_map'][5:, :15] == 0).all()
    assert set(np.unique(out['gt_superpixels'])) == set(range(15))
    assert out['gt_superpixels'].dtype == np.int32
    with pytest.raises(ValueError, match='size must be > 0'):
        SquareResize(0)


def test_random_square_resize_draws_every_size():
    t = RandomSquareResize(sizes=range(250, 501, 50))
    seen = {t(_results())['img'].shape[0] for _ in range(60)}
    assert seen == {250, 300, 350, 400, 450, 500}
    with pytest.raises(ValueError, match='non-empty list'):
        RandomSquareResize(sizes=[])


@pytest.mark.parametrize('shape', [(30, 50), (50, 30), (40, 40)])
def test_pad_to_square(shape):
    h, w = shape
    res = _results(h, w)
    n_sp = res['gt_superpixels'].max() + 1
    out = PadToSquare()(res)
    side = max(h, w)
    assert out['img'].shape == (side, side, 3)
    assert out['img_shape'] == out['pad_shape'] == (side, side)
    assert out['pad_to_square'] == (0, side - h, 0, side - w)
    assert (out['img'][h:] == 0).all() and (out['img'][:, w:] == 0).all()
    assert (out['gt_seg_map'][h:] == 255).all()
    assert (out['gt_seg_map'][:, w:] == 255).all()
    sp = out['gt_superpixels']
    if (h, w) != (side, side):
        # padding is one new superpixel; ids stay contiguous 0..N
        assert (sp[h:] == n_sp).all() and (sp[:, w:] == n_sp).all()
        assert set(np.unique(sp)) == set(range(n_sp + 1))
    np.testing.assert_array_equal(sp[:h, :w], _results(h, w)['gt_superpixels'])


def test_pad_to_square_superpixel_minus_one_and_values():
    out = PadToSquare(pad_val=7, seg_pad_val=0, superpixel_pad=-1)(
        _results(30, 50))
    assert (out['img'][30:] == 7).all()
    assert (out['gt_seg_map'][30:] == 0).all()
    assert (out['gt_superpixels'][30:] == -1).all()
    with pytest.raises(ValueError, match="'new_id' or -1"):
        PadToSquare(superpixel_pad=0)


def test_spn_training_chain():
    """PadToSquare then RandomSquareResize: square, aligned, ids kept."""
    res = _results(30, 50)
    out = RandomSquareResize([64])(PadToSquare()(res))
    assert out['img'].shape == (64, 64, 3)
    assert out['gt_superpixels'].shape == (64, 64)
    # bottom rows are padding in both fields
    assert (out['gt_seg_map'][-10:] == 255).all()
    assert (out['gt_superpixels'][-10:] == 15).all()
