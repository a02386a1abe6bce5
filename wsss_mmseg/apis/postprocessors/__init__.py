from .argmax_labeler import ArgmaxLabeler
from .base_label_postprocessor import (BaseLabelPostprocessor,
                                       build_label_postprocessor)
from .confidence_threshold_labeler import ConfidenceThresholdLabeler

__all__ = [
    'ArgmaxLabeler', 'BaseLabelPostprocessor', 'ConfidenceThresholdLabeler',
    'build_label_postprocessor'
]
