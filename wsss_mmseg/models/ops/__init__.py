from .cam import (PSA_CAM_SCALES, cam_background, class_activation_map,
                  constant_background, multi_scale_cam,
                  normalize_cam_by_max, power_background)
from .dense_crf import DEFAULT_CRF_PARAMS, dense_crf, dense_crf_batch
from .multi_scale import multi_scale_flip

__all__ = [
    'PSA_CAM_SCALES', 'cam_background', 'class_activation_map',
    'constant_background', 'multi_scale_cam', 'normalize_cam_by_max',
    'power_background',
    'DEFAULT_CRF_PARAMS', 'dense_crf', 'dense_crf_batch', 'multi_scale_flip'
]
