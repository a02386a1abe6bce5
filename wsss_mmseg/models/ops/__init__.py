from .cam import (PSA_CAM_SCALES, cam_background, class_activation_map,
                  constant_background, multi_scale_cam,
                  normalize_cam_by_max, power_background)
from .dense_crf import DEFAULT_CRF_PARAMS, dense_crf, dense_crf_batch
from .equivariance import (equivariance_loss, equivariance_targets,
                           make_mosaic, random_affine, split_mosaic, warp)
from .multi_scale import multi_scale_flip
from .adaptive_k_pool import POOL_MODES, adaptive_k_pool, adaptive_k_select
from .label_merging import merge_patch_labels, patch_to_pixel_labels
from .patch_contrast import patch_contrast_loss, patch_similarity
from .sp_cam import sp_cam_to_scores, sp_class_scores
from .superpixel_pool import (compact_superpixel_ids, paint_superpixels,
                              resize_superpixels, superpixel_mean,
                              superpixel_pool, superpixel_pool_reference)

__all__ = [
    'PSA_CAM_SCALES', 'cam_background', 'class_activation_map',
    'constant_background', 'multi_scale_cam', 'normalize_cam_by_max',
    'power_background',
    'DEFAULT_CRF_PARAMS', 'dense_crf', 'dense_crf_batch', 'multi_scale_flip',
    'equivariance_loss', 'equivariance_targets', 'make_mosaic',
    'random_affine', 'split_mosaic', 'warp',
    'POOL_MODES', 'adaptive_k_pool', 'adaptive_k_select',
    'merge_patch_labels', 'patch_to_pixel_labels', 'patch_contrast_loss',
    'patch_similarity',
    'sp_cam_to_scores', 'sp_class_scores', 'compact_superpixel_ids',
    'paint_superpixels', 'resize_superpixels', 'superpixel_mean',
    'superpixel_pool', 'superpixel_pool_reference'
]
