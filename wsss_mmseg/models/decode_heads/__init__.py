from .cam_head import CAMHead
from .adaptive_k_patch_head import AdaptiveKPatchHead

__all__ = ['CAMHead', 'AdaptiveKPatchHead']
