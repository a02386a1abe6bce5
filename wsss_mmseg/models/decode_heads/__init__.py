from .cam_head import CAMHead
from .adaptive_k_patch_head import AdaptiveKPatchHead
from .superpixel_pooling_head import SuperpixelPoolingHead
from .affinity_head import AffinityHead
from .decoupled_head import DecoupledHead

__all__ = ['CAMHead', 'AdaptiveKPatchHead', 'SuperpixelPoolingHead',
           'AffinityHead',
    'DecoupledHead']
