"""Label maps of PSA (Ahn & Kwak, CVPR 2018): confident regions from the
low/high-alpha CRFs (methods.md §2.1 step 3, §2.4 step 4) and the stride-8
label grid AffinityNet is trained on.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .affinity import PSA_IGNORE_INDEX
from .dense_crf import dense_crf

#: CRF parameters of PSA's confident regions (methods.md §0.2) [code].
PSA_CRF_PARAMS: Dict = dict(
    n_iter=10,
    pos_xy_std=3,
    pos_w=3,
    bi_xy_std=80,
    bi_rgb_std=13,
    bi_w=10,
    normalize=False)


def combine_confident_regions(label_la: np.ndarray,
                              label_ha: np.ndarray,
                              ignore_index: int = PSA_IGNORE_INDEX
                              ) -> np.ndarray:
    """PSA's rule for confident regions [code].

    ``label = la; label[la == 0] = ignore; label[ha == 0] = 0``: a pixel is
    foreground when even the low-alpha (strong background) CRF keeps it,
    background when even the high-alpha (weak background) CRF calls it
    background, unsure otherwise.

    Args:
        label_la (np.ndarray): (H, W) argmax of the low-alpha CRF, 0 = bg.
        label_ha (np.ndarray): (H, W) argmax of the high-alpha CRF.
        ignore_index (int): Label of unsure pixels.

    Returns:
        np.ndarray: (H, W) uint8 labels {0, 1..C-1, ignore_index}.
    """
    if label_la.shape != label_ha.shape:
        raise ValueError(f'la and ha label maps differ in shape: '
                         f'{label_la.shape} vs {label_ha.shape}')
    label = label_la.astype(np.uint8).copy()
    label[label_la == 0] = ignore_index
    label[label_ha == 0] = 0
    return label


def psa_confident_regions(image: np.ndarray,
                          cams: np.ndarray,
                          present: Optional[Sequence[int]] = None,
                          low_alpha: float = 4.0,
                          high_alpha: float = 32.0,
                          crf_params: Optional[Dict] = None,
                          ignore_index: int = PSA_IGNORE_INDEX) -> np.ndarray:
    """Confident regions of one image (methods.md §2.1 step 3) [code].

    For ``alpha`` in (low, high): ``S = [(1 - max_c M_c)^alpha; M_c for the
    present classes]``, dense CRF with the un-normalised ``S`` as unary
    (PSA parameters, :data:`PSA_CRF_PARAMS`), argmax; then
    :func:`combine_confident_regions`. As in the authors' code the CRF only
    sees the background and the present classes.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        cams (np.ndarray): (C_fg, H, W) max-normalised CAMs ``M_c`` in
            [0, 1] (foreground classes only).
        present (list[int], optional): Indices into ``cams`` of the classes
            in the image; default: classes whose map is not all zero.
        low_alpha (float): Background exponent of the "la" CRF (4).
        high_alpha (float): Background exponent of the "ha" CRF (32; the
            paper used 24).
        crf_params (dict, optional): Overrides of :data:`PSA_CRF_PARAMS`.
        ignore_index (int): Label of unsure pixels.

    Returns:
        np.ndarray: (H, W) uint8 labels, 0 = background, ``c + 1`` = class
        ``c`` of ``cams``, ``ignore_index`` = unsure.
    """
    if cams.ndim != 3 or cams.shape[1:] != image.shape[:2]:
        raise ValueError(f'CAMs of shape {cams.shape} do not match the image '
                         f'of shape {image.shape}')
    if present is None:
        present = np.flatnonzero(cams.reshape(len(cams), -1).max(1) > 0)
    present = np.asarray(present, dtype=np.int64)
    params = dict(PSA_CRF_PARAMS)
    params.update(crf_params or {})
    fg = cams[present].astype(np.float32)
    peak = fg.max(0) if len(present) else np.zeros(cams.shape[1:],
                                                   np.float32)
    class_ids = np.concatenate([[0], present + 1]).astype(np.uint8)
    labels = []
    for alpha in (low_alpha, high_alpha):
        bg = np.power(np.clip(1 - peak, 0, 1), alpha)[None]
        stack = np.concatenate([bg, fg], axis=0)
        if len(present):
            stack = dense_crf(image, stack, **params)
        labels.append(class_ids[stack.argmax(0)])
    return combine_confident_regions(labels[0], labels[1], ignore_index)


def label_grid(labels: Tensor,
               num_classes: int,
               stride: int = 8,
               ignore_index: int = PSA_IGNORE_INDEX) -> Tensor:
    """Downsample a pixel label map to the stride-8 feature grid.

    The authors average-pool the la/ha CRF *scores* 8x8 and take the argmax
    (methods.md §2.4 steps 2-4); we store the confident regions as label
    PNGs, so each cell takes its most frequent label, ``ignore_index``
    counting as one more label (cells mostly outside the crop or unsure are
    ignored). Ties go to the lower class id, then to ``ignore_index``. This
    voting is our reconstruction (tag [ours]); the pooled-score argmax and
    the vote agree wherever one label covers most of the cell.

    Args:
        labels (Tensor): (B, H, W) integer labels in {0..num_classes-1,
            ignore_index}; H, W multiples of ``stride`` (else the last
            partial cells are cropped, as the authors' pooling does).
        num_classes (int): Classes including background.
        stride (int): Output stride (8).
        ignore_index (int): Unsure label.

    Returns:
        Tensor: (B, H // stride, W // stride) int64 labels.
    """
    if labels.dim() != 3:
        raise ValueError('label_grid expects (B, H, W) labels, got shape '
                         f'{tuple(labels.shape)}')
    labels = labels.long()
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        found = torch.unique(labels[bad]).tolist()
        raise ValueError(f'label map holds ids {found} outside [0, '
                         f'{num_classes}) and != ignore {ignore_index}; '
                         'num_classes of the model and the confident-region '
                         'PNGs differ')
    idx = torch.where(labels == ignore_index, num_classes, labels)
    onehot = F.one_hot(idx, num_classes + 1).permute(0, 3, 1, 2).float()
    votes = F.avg_pool2d(onehot, stride, stride)
    grid = votes.argmax(1)
    return torch.where(grid == num_classes,
                       torch.full_like(grid, ignore_index), grid)
