"""Pseudo labels with an "unsure" label for low-confidence pixels."""
import numpy as np

from wsss_mmseg.registry import TASK_UTILS
from .base_label_postprocessor import BaseLabelPostprocessor


@TASK_UTILS.register_module()
class ConfidenceThresholdLabeler(BaseLabelPostprocessor):
    """Argmax label, ``ignore_index`` where the winning score is low.

    With ``normalize=True`` the scores are first divided by their per-pixel
    sum, so ``threshold`` is a probability; otherwise it applies to the raw
    score. Pixels with top score ``< threshold`` get ``ignore_index``
    (255): the confident-region format {0 bg, 1..C-1, 255 unsure}.

    Args:
        threshold (float): Minimum top score. Default 0.9.
        normalize (bool): Normalise the scores over classes. Default True.
        ignore_index (int): Label of unsure pixels. Default 255.
    """

    def __init__(self,
                 threshold: float = 0.9,
                 normalize: bool = True,
                 ignore_index: int = 255) -> None:
        if not 0 <= ignore_index <= 255:
            raise ValueError('ignore_index must fit a PNG label (0..255), '
                             f'got {ignore_index}')
        self.threshold = threshold
        self.normalize = normalize
        self.ignore_index = ignore_index

    def __call__(self, scores: np.ndarray, info: dict) -> np.ndarray:
        """See :class:`BaseLabelPostprocessor`: (C, H, W) -> (H, W) uint8."""
        scores = np.asarray(scores, dtype=np.float32)
        if self.normalize:
            scores = scores / np.maximum(scores.sum(0, keepdims=True), 1e-12)
        label = scores.argmax(0).astype(np.uint8)
        label[scores.max(0) < self.threshold] = self.ignore_index
        return label
