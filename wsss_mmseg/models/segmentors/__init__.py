from .base_weak_segmentor import BaseWeakSegmentor
from .cam_segmentor import CAMSegmentor
from .apc_segmentor import APCSegmentor

__all__ = ['BaseWeakSegmentor', 'CAMSegmentor', 'APCSegmentor']
