import numpy as np
import pytest
import skimage.data
import skimage.filters

import wsss_mmseg  # noqa: F401
from wsss_mmseg.models.ops import (DEFAULT_CRF_PARAMS, dense_crf,
                                   dense_crf_batch)

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
