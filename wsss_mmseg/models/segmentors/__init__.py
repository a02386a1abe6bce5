from .base_weak_segmentor import BaseWeakSegmentor

__all__ = ['BaseWeakSegmentor']
