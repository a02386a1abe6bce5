"""Tests of the superpixel pooling op (SPN, methods.md §1.1.3)."""
import pytest
import torch
import torch.nn.functional as F

from wsss_mmseg.models.ops.superpixel_pool import (
    compact_superpixel_ids, paint_superpixels, resize_superpixels,
    superpixel_mean, superpixel_pool, superpixel_pool_reference)


def _random_superpixels(batch, height, width, n, seed=0):
    """Blocky random superpixel maps with ids 0..n-1 (every id present)."""
    g = torch.Generator().manual_seed(seed)
    maps = []
    for _ in range(batch):
        coarse = torch.randint(n, (1, 1, height // 3 + 1, width // 3 + 1),
                               generator=g).double()
        sp = F.interpolate(coarse, size=(height, width), mode='nearest')
        sp = sp[0, 0].long()
        _, sp = torch.unique(sp, return_inverse=True)  # contiguous ids
        maps.append(sp)
    return torch.stack(maps)


@pytest.mark.parametrize('feat_size,img_size', [((4, 4), (16, 16)),
                                                ((5, 3), (17, 13)),
                                                ((8, 8), (8, 8))])
def test_pool_equals_naive_forward_and_backward(feat_size, img_size):
    torch.manual_seed(0)
    sp = _random_superpixels(3, *img_size, n=9)
    feats = torch.randn(3, 6, *feat_size, dtype=torch.float64,
                        requires_grad=True)
    ids, batch_idx, num = compact_superpixel_ids(sp)
    pooled, area = superpixel_pool(feats, ids, num)
    ref, ref_batch = superpixel_pool_reference(feats, sp)
    assert pooled.shape == ref.shape == (num, 6)
    assert torch.equal(batch_idx, ref_batch)
    torch.testing.assert_close(pooled, ref, rtol=1e-12, atol=1e-12)
    assert torch.equal(area, torch.bincount(ids.flatten(), minlength=num))
    weight = torch.randn_like(pooled)
    (g_fast, ) = torch.autograd.grad((pooled * weight).sum(), feats)
    (g_ref, ) = torch.autograd.grad((ref * weight).sum(), feats)
    torch.testing.assert_close(g_fast, g_ref, rtol=1e-12, atol=1e-12)


def test_hand_computed_area_weights():
    # 2x2 feature grid upsampled to 4x4; superpixel 0 = left column of
    # pixels (cells 0 and 2, 2 pixels each), superpixel 1 = the rest.
    feats = torch.tensor([[1., 2.], [3., 4.]]).view(1, 1, 2, 2)
    sp = torch.ones(1, 4, 4, dtype=torch.long)
    sp[0, :, 0] = 0
    ids, _, num = compact_superpixel_ids(sp)
    pooled, area = superpixel_pool(feats, ids, num)
    assert area.tolist() == [4, 12]
    assert pooled[0, 0].item() == pytest.approx((1 + 3) / 2)
    # cells 0,2 contribute 2 pixels each, cells 1,3 four each
    assert pooled[1, 0].item() == pytest.approx(
        (2 * 1 + 2 * 3 + 4 * 2 + 4 * 4) / 12)


def test_ids_offsets_gaps_and_ignore():
    sp = torch.tensor([[[0, 0, 2], [2, 2, 2]], [[1, 1, -1], [0, 1, -1]]])
    ids, batch_idx, num = compact_superpixel_ids(sp)
    # image 0 has ids {0, 2} (gap at 1) -> 0, 1; image 1 {0, 1} -> 2, 3
    assert num == 4
    assert batch_idx.tolist() == [0, 0, 1, 1]
    assert ids.tolist() == [[[0, 0, 1], [1, 1, 1]], [[3, 3, -1], [2, 3, -1]]]
    feats = torch.arange(12.).view(2, 1, 2, 3)
    pooled, area = superpixel_pool(feats, ids, num)
    assert area.tolist() == [2, 4, 1, 3]
    assert pooled[:, 0].tolist() == pytest.approx(
        [0.5, (2 + 3 + 4 + 5) / 4, 9.0, (6 + 7 + 10) / 3])


def test_single_superpixel_covers_image():
    feats = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    sp = torch.zeros(2, 16, 16, dtype=torch.long)
    ids, batch_idx, num = compact_superpixel_ids(sp)
    pooled, area = superpixel_pool(feats, ids, num)
    assert num == 2 and area.tolist() == [256, 256]
    torch.testing.assert_close(pooled, feats.mean((2, 3)))
    torch.testing.assert_close(
        superpixel_mean(pooled, batch_idx, 2), feats.mean((2, 3)))


def test_superpixel_mean_counts_each_superpixel_once():
    pooled = torch.tensor([[1.], [3.], [10.], [7.]])
    batch_idx = torch.tensor([0, 0, 0, 1])
    out = superpixel_mean(pooled, batch_idx, 3,
                          valid=torch.tensor([True, True, False, True]))
    assert out[:, 0].tolist() == [2.0, 7.0, 0.0]


def test_paint_and_resize():
    ids = torch.tensor([[[0, 1], [1, -1]]])
    values = torch.tensor([[1., 2.], [3., 4.]])
    out = paint_superpixels(values, ids, fill=-5)
    assert out.shape == (1, 2, 2, 2)
    assert out[0, 0].tolist() == [[1, 3], [3, -5]]
    big = resize_superpixels(torch.tensor([[[70000, 3], [3, 1]]]), (4, 4))
    assert big.dtype == torch.long and big[0, 0, 0].item() == 70000
    assert big[0].tolist()[3] == [3, 3, 1, 1]


def test_bad_input_raises():
    with pytest.raises(ValueError, match=r'\(B, H, W\)'):
        compact_superpixel_ids(torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(TypeError, match='integer'):
        compact_superpixel_ids(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match='out of range'):
        superpixel_pool(torch.zeros(1, 2, 2, 2),
                        torch.full((1, 4, 4), 3, dtype=torch.long), 2)
    with pytest.raises(ValueError, match='2 images'):
        superpixel_pool(torch.zeros(2, 2, 2, 2),
                        torch.zeros(1, 4, 4, dtype=torch.long), 1)
