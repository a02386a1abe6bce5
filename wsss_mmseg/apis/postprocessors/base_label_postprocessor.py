"""Interface of the maps class scores -> label map used by the engine."""
from typing import Callable, Optional, Union

import numpy as np

from wsss_mmseg.registry import TASK_UTILS


class BaseLabelPostprocessor:
    """Turn one image's class scores into its pseudo-label map.

    The pseudo-label engine calls a post-processor once per image, in a CRF
    worker process, after the optional dense CRF. Subclasses register in
    ``wsss_mmseg.registry.TASK_UTILS`` so configs select them with
    ``pseudo_label_cfg.postprocess=dict(type=...)``; plain functions with the
    same signature are accepted too. A post-processor may emit any labels in
    [0, 255]; 255 marks "unsure" pixels (PSA's confident regions), which
    training ignores (mmseg's ``ignore_index``) and evaluation counts as
    misses.

    ``info`` holds ``img_path`` (str), ``img_id`` (str), ``name`` (the
    output file name) and ``img_labels`` ((C,) float multi-hot with
    background at 0, or None on splits without labels). The image itself can
    be read with ``mmcv.imread(info['img_path'], channel_order='rgb')``
    (PSA's la/ha CRF needs it).
    """

    def __call__(self, scores: np.ndarray, info: dict) -> np.ndarray:
        """Label map of one image.

        Args:
            scores (np.ndarray): (C, H, W) float32 non-negative class
                scores (CRF marginals when the engine's CRF is on).
            info (dict): See the class docstring.

        Returns:
            np.ndarray: (H, W) integer labels in [0, 255].
        """
        raise NotImplementedError


LabelPostprocessor = Callable[[np.ndarray, dict], np.ndarray]


def build_label_postprocessor(
        cfg: Optional[Union[dict, str, LabelPostprocessor]]
) -> LabelPostprocessor:
    """Build a post-processor from a config, a registry name or a callable.

    Args:
        cfg (dict | str | callable | None): ``dict(type=...)`` built from
            ``TASK_UTILS``; a registered name (class: instantiated with no
            arguments, function: used as is); a callable; None = argmax.

    Returns:
        callable: ``(scores (C, H, W), info) -> (H, W) labels``.
    """
    if cfg is None:
        cfg = dict(type='ArgmaxLabeler')
    if isinstance(cfg, str):
        obj = TASK_UTILS.get(cfg)
        if obj is None:
            raise KeyError(f'pseudo-label post-processor {cfg!r} is not '
                           'registered in wsss_mmseg TASK_UTILS')
        return obj() if isinstance(obj, type) else obj
    if isinstance(cfg, dict):
        return TASK_UTILS.build(cfg)
    if callable(cfg):
        return cfg
    raise TypeError('postprocess must be a dict, a registered name or a '
                    f'callable, got {type(cfg).__name__}')
