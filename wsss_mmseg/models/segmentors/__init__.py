from .base_weak_segmentor import BaseWeakSegmentor
from .cam_segmentor import CAMSegmentor
from .apc_segmentor import APCSegmentor
from .spn_segmentor import SPNSegmentor
from .affinity_segmentor import AffinitySegmentor
from .decoupled_segmentor import DecoupledSegmentor
from .weak_encoder_decoder import WeakEncoderDecoder

__all__ = [
    'BaseWeakSegmentor', 'CAMSegmentor', 'APCSegmentor', 'SPNSegmentor',
    'AffinitySegmentor',
    'DecoupledSegmentor', 'WeakEncoderDecoder']
