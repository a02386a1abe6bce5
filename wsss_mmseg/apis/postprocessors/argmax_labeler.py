"""Plain argmax pseudo labels."""
import numpy as np

from wsss_mmseg.registry import TASK_UTILS
from .base_label_postprocessor import BaseLabelPostprocessor


@TASK_UTILS.register_module()
class ArgmaxLabeler(BaseLabelPostprocessor):
    """Label = the class of the highest score (the default).

    The scores are already restricted to the image labels by the model when
    the split carries them, so the argmax never picks an absent class.
    """

    def __call__(self, scores: np.ndarray, info: dict) -> np.ndarray:
        """See :class:`BaseLabelPostprocessor`: (C, H, W) -> (H, W) uint8."""
        return np.asarray(scores).argmax(0).astype(np.uint8)
