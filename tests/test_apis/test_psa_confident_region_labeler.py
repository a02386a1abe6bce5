"""PSAConfidentRegionLabeler: the engine's post-processor for PSA stage 2."""
import mmcv
import numpy as np
import pytest

from wsss_mmseg.apis import build_label_postprocessor
from wsss_mmseg.models.ops.psa_labels import psa_confident_regions


@pytest.fixture
def photo(tmp_path):
    from skimage import data
    image = np.ascontiguousarray(data.chelsea()[::6, ::6])  # RGB
    path = str(tmp_path / 'chelsea.png')
    mmcv.imwrite(image[..., ::-1], path)  # mmcv writes BGR
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    cam = np.clip(1 - np.hypot(yy - h / 2, xx - w / 3) / (h / 2), 0, 1)
    scores = np.zeros((4, h, w), np.float32)
    scores[0] = 0.2  # the CAM network's constant background
    scores[3] = cam
    return image, path, scores


def test_matches_the_op_and_uses_image_labels(photo):
    image, path, scores = photo
    labeler = build_label_postprocessor(
        dict(type='PSAConfidentRegionLabeler', low_alpha=4, high_alpha=32))
    info = dict(img_path=path, img_id='chelsea', name='chelsea.png',
                img_labels=np.array([1, 0, 0, 1], np.float32))
    label = labeler(scores, info)
    expected = psa_confident_regions(image, scores[1:], present=[2])
    assert np.array_equal(label, expected)
    assert set(np.unique(label).tolist()) == {0, 3, 255}
    # without labels: classes with non-zero maps
    info['img_labels'] = None
    assert np.array_equal(labeler(scores, info), expected)
    # image without any present class: all background, no CRF needed
    info['img_labels'] = np.array([1, 0, 0, 0], np.float32)
    assert (labeler(scores, info) == 0).all()


def test_errors(photo):
    _, path, scores = photo
    with pytest.raises(ValueError, match='low_alpha must be < high_alpha'):
        build_label_postprocessor(
            dict(type='PSAConfidentRegionLabeler', low_alpha=32,
                 high_alpha=4))
    with pytest.raises(KeyError, match='unknown crf keys'):
        build_label_postprocessor(
            dict(type='PSAConfidentRegionLabeler', crf=dict(sxy=3)))
    labeler = build_label_postprocessor('PSAConfidentRegionLabeler')
    with pytest.raises(ValueError, match='5 classes, the scores 4'):
        labeler(scores, dict(img_path=path, img_labels=np.ones(5)))
