from .base_weak_segmentor import BaseWeakSegmentor
from .cam_segmentor import CAMSegmentor

__all__ = ['BaseWeakSegmentor', 'CAMSegmentor']
