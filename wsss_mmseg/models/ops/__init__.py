from .dense_crf import DEFAULT_CRF_PARAMS, dense_crf, dense_crf_batch
from .multi_scale import multi_scale_flip

__all__ = [
    'DEFAULT_CRF_PARAMS', 'dense_crf', 'dense_crf_batch', 'multi_scale_flip'
]
