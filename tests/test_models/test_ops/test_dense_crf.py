import numpy as np
import pytest
import skimage.data
import skimage.filters

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.ops import (DEFAULT_CRF_PARAMS, dense_crf,
                                   dense_crf_batch)
from wsss_mmseg.models.ops.dense_crf import compact_channels, expand_channels

PSA_CRF = dict(pos_xy_std=3, pos_w=3, bi_xy_std=80, bi_rgb_std=13, bi_w=10)


def _astronaut_case(seed=0, noise=0.3):
    """A 128x128 photo, an Otsu segmentation and a noisy score map of it."""
    img = np.ascontiguousarray(skimage.data.astronaut()[::4, ::4])
    gray = img.mean(2)
    ref = (gray > skimage.filters.threshold_otsu(gray)).astype(np.int64)
    rng = np.random.default_rng(seed)
    noisy = ref.copy()
    flip = rng.random(ref.shape) < noise
    noisy[flip] = 1 - noisy[flip]
    probs = np.stack([np.where(noisy == 0, 0.6, 0.4),
                      np.where(noisy == 1, 0.6, 0.4)]).astype(np.float32)
    return img, ref, noisy, probs


@pytest.mark.parametrize('params', [DEFAULT_CRF_PARAMS, PSA_CRF])
def test_crf_marginals_and_denoising(params):
    img, ref, noisy, probs = _astronaut_case()
    out = dense_crf(img, probs, **params)
    assert out.shape == (2, 128, 128) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(0), 1.0, atol=1e-5)
    assert (out >= 0).all()
    before = (noisy == ref).mean()
    after = (out.argmax(0) == ref).mean()
    assert before == pytest.approx(0.7, abs=0.02)
    assert after > before + 0.2  # measured: 0.976 (ViT-PCM), 0.981 (PSA)


def test_crf_unnormalised_scores_and_normalize():
    img, _, _, probs = _astronaut_case()
    scaled = probs * 0.5  # PSA feeds un-normalised scores as they are
    raw = dense_crf(img, scaled, n_iter=0)
    norm = dense_crf(img, scaled, n_iter=0, normalize=True)
    # with no iteration the marginals are softmax(-unary) = p / sum p
    np.testing.assert_allclose(raw, probs, atol=1e-5)
    np.testing.assert_allclose(norm, probs, atol=1e-5)


def test_crf_bad_input():
    img, _, _, probs = _astronaut_case()
    with pytest.raises(ValueError, match='uint8 RGB image'):
        dense_crf(img.astype(np.float32), probs)
    with pytest.raises(ValueError, match='uint8 RGB image'):
        dense_crf(img[..., 0], probs)
    with pytest.raises(ValueError, match='do not match the image size'):
        dense_crf(img, probs[:, :64])
    with pytest.raises(ValueError, match='do not match the image size'):
        dense_crf(img, probs[0])
    bad = probs.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN or inf'):
        dense_crf(img, bad)
    with pytest.raises(ValueError, match='2 images but 1 score maps'):
        dense_crf_batch([img, img], [probs])


@pytest.mark.slow
def test_crf_pool_matches_in_process():
    cases = [_astronaut_case(seed=s) for s in range(3)]
    images = [c[0] for c in cases]
    scores = [c[3] for c in cases]
    serial = dense_crf_batch(images, scores, num_workers=1, **PSA_CRF)
    pooled = dense_crf_batch(images, scores, num_workers=2, **PSA_CRF)
    assert len(pooled) == 3
    for a, b, s in zip(serial, pooled, scores):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, dense_crf(images[0], s, **PSA_CRF))


def _restricted_case(num_classes=21, present=(0, 7, 15)):
    """Astronaut scores spread over ``present`` of ``num_classes`` classes,
    the other channels exactly 0 (as after restriction to image labels)."""
    img, _, _, probs = _astronaut_case()
    scores = np.zeros((num_classes, ) + probs.shape[1:], np.float32)
    scores[present[0]] = probs[0]
    scores[present[1]] = probs[1] * 0.7
    scores[present[2]] = probs[1] * 0.3
    return img, scores, np.array(present)


def test_compact_and_expand_channels():
    _, scores, present = _restricted_case()
    keep, values = compact_channels(scores)
    np.testing.assert_array_equal(keep, present)
    assert values.shape == (3, 128, 128) and values.flags.c_contiguous
    np.testing.assert_array_equal(expand_channels(keep, values, 21), scores)


def test_crf_skips_absent_classes():
    img, scores, present = _restricted_case()
    out = dense_crf(img, scores, n_iter=5)
    absent = np.setdiff1d(np.arange(21), present)
    assert (out[absent] == 0).all()
    # the present classes get exactly the CRF run on them alone
    np.testing.assert_array_equal(
        out[present], dense_crf(img, scores[present], n_iter=5))
    full = dense_crf(img, scores, n_iter=5, skip_absent=False)
    assert (full[absent] > 0).all()  # clipped scores keep them alive
    assert (full.argmax(0) == out.argmax(0)).mean() > 0.999
    # where every present score is 0, all classes tie at the clip value in
    # the full CRF and absent class 0 wins; skipping keeps the present ones
    img, scores, present = _restricted_case(present=(3, 7, 15))
    scores[:, :20, :20] = 0
    assert np.isin(dense_crf(img, scores, n_iter=0).argmax(0), present).all()
    full = dense_crf(img, scores, n_iter=0, skip_absent=False)
    assert (full.argmax(0)[:20, :20] == 0).all()


def test_crf_one_or_no_present_class():
    img, scores, _ = _restricted_case()
    one = np.zeros_like(scores)
    one[4] = scores[0]
    out = dense_crf(img, one)
    assert (out[4] == 1).all() and out.sum() == out[4].sum()
    # no class present: every class takes part (uniform unary)
    out = dense_crf(img, np.zeros_like(scores), n_iter=2)
    np.testing.assert_allclose(out, 1 / 21, rtol=1e-4)


@pytest.mark.slow
def test_crf_pool_ships_present_channels_only():
    cases = [_restricted_case(present=p) for p in [(0, 1, 2), (0, 5, 20)]]
    images = [c[0] for c in cases]
    scores = [c[1] for c in cases]
    serial = dense_crf_batch(images, scores, num_workers=0, n_iter=3)
    pooled = dense_crf_batch(images, scores, num_workers=2, n_iter=3)
    for a, b in zip(serial, pooled):
        assert a.shape == (21, 128, 128)
        np.testing.assert_array_equal(a, b)
