"""PSA's confident regions as a pseudo-label post-processor (Ahn & Kwak,
CVPR 2018; methods.md §2.1 step 3, §2.4)."""
from typing import Dict, Optional

import mmcv
import numpy as np

from wsss_mmseg.models.ops.psa_labels import (PSA_CRF_PARAMS,
                                              psa_confident_regions)
from wsss_mmseg.registry import TASK_UTILS
from .base_label_postprocessor import BaseLabelPostprocessor


@TASK_UTILS.register_module()
class PSAConfidentRegionLabeler(BaseLabelPostprocessor):
    """Confident regions {0 bg, 1..C-1, 255 unsure} from CAM scores.

    Takes the CAM network's scores ``[bg; M_c]`` (the background channel is
    ignored), runs the dense CRF on ``[(1 - max M)^low_alpha; M_present]``
    and ``[(1 - max M)^high_alpha; M_present]`` (PSA's CRF parameters,
    un-normalised unary) and combines the two argmaxes:
    foreground where the low-alpha CRF says so, background where the
    high-alpha CRF says so, 255 elsewhere
    (:func:`~wsss_mmseg.models.ops.psa_labels.psa_confident_regions`).
    Use it with the engine's own CRF off.

    Present classes are the image labels when the split has them, else the
    classes with a non-zero map.

    Args:
        low_alpha (float): Background exponent of the la CRF. Default 4.
        high_alpha (float): Of the ha CRF. Default 32 [code] (paper: 24).
        crf (dict, optional): Overrides of the PSA CRF parameters
            (n_iter 10, gaussian (3, 3), bilateral (80, 13, 10)).
        ignore_index (int): Unsure label. Default 255.
    """

    def __init__(self,
                 low_alpha: float = 4.0,
                 high_alpha: float = 32.0,
                 crf: Optional[Dict] = None,
                 ignore_index: int = 255) -> None:
        if low_alpha >= high_alpha:
            raise ValueError('PSAConfidentRegionLabeler: low_alpha must be '
                             f'< high_alpha, got {low_alpha} and '
                             f'{high_alpha}')
        unknown = set(crf or {}) - set(PSA_CRF_PARAMS)
        if unknown:
            raise KeyError('PSAConfidentRegionLabeler: unknown crf keys '
                           f'{sorted(unknown)}; valid: '
                           f'{sorted(PSA_CRF_PARAMS)}')
        self.low_alpha = low_alpha
        self.high_alpha = high_alpha
        self.crf = dict(crf or {})
        self.ignore_index = ignore_index

    def __call__(self, scores: np.ndarray, info: dict) -> np.ndarray:
        """See :class:`BaseLabelPostprocessor`: (C, H, W) -> (H, W) uint8."""
        scores = np.asarray(scores, dtype=np.float32)
        image = mmcv.imread(info['img_path'], channel_order='rgb')
        if image is None:
            raise FileNotFoundError(
                f"can not read {info['img_path']} for PSA's la/ha CRF")
        if image.shape[:2] != scores.shape[1:]:
            image = mmcv.imresize(image, (scores.shape[2], scores.shape[1]))
        cams = scores[1:]
        present = None
        labels = info.get('img_labels')
        if labels is not None:
            labels = np.asarray(labels)
            if len(labels) != len(scores):
                raise ValueError(
                    f"{info['img_path']}: image labels have {len(labels)} "
                    f'classes, the scores {len(scores)}')
            present = np.flatnonzero(labels[1:] > 0)
        return psa_confident_regions(
            np.ascontiguousarray(image),
            cams,
            present=present,
            low_alpha=self.low_alpha,
            high_alpha=self.high_alpha,
            crf_params=self.crf,
            ignore_index=self.ignore_index)
