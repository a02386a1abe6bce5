from .argmax_labeler import ArgmaxLabeler
from .base_label_postprocessor import (BaseLabelPostprocessor,
                                       build_label_postprocessor)
from .confidence_threshold_labeler import ConfidenceThresholdLabeler
from .psa_confident_region_labeler import PSAConfidentRegionLabeler

__all__ = [
    'ArgmaxLabeler', 'BaseLabelPostprocessor', 'ConfidenceThresholdLabeler',
    'build_label_postprocessor', 'PSAConfidentRegionLabeler'
]
