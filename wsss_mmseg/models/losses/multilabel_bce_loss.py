"""Multi-label binary cross-entropy for image-level classification.

Used by every method trained from image-level labels (methods.md §1.1.6
SPN, §2.2 PSA "multi-label soft-margin", §3.1.5 ViT-PCM/APC "MCE").
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.losses.utils import weight_reduce_loss
from torch import Tensor

from wsss_mmseg.registry import MODELS

REDUCTIONS = ('none', 'mean', 'sum')


def multilabel_bce(pred: Tensor,
                   target: Tensor,
                   use_sigmoid: bool = True,
                   clip_eps: float = 1e-7) -> Tensor:
    """Element-wise binary cross-entropy of multi-label scores.

    ``l = -(y log p + (1 - y) log(1 - p))`` with ``p = sigmoid(pred)``
    computed stably from logits (``use_sigmoid=True``; PSA's
    ``multilabel_soft_margin_loss``), or ``p = clip(pred, eps, 1 - eps)``
    for probability inputs (``use_sigmoid=False``; ViT-PCM/APC, Keras-style
    clipping to [1e-7, 1 - 1e-7]).

    Args:
        pred (Tensor): (B, C) logits or probabilities.
        target (Tensor): (B, C) targets in [0, 1] (multi-hot).
        use_sigmoid (bool): Whether ``pred`` holds logits.
        clip_eps (float): Clipping of probability inputs.

    Returns:
        Tensor: (B, C) element-wise losses.
    """
    target = target.to(pred.dtype)
    if use_sigmoid:
        return F.binary_cross_entropy_with_logits(
            pred, target, reduction='none')
    # clip p and 1 - p separately: in float32, 1 - (1 - 1e-7) is not 1e-7
    prob = pred.clamp(clip_eps, 1 - clip_eps)
    comp = (1 - pred).clamp(clip_eps, 1 - clip_eps)
    return -(target * prob.log() + (1 - target) * comp.log())


@MODELS.register_module()
class MultiLabelBCELoss(nn.Module):
    """Multi-label binary cross-entropy, averaged over classes and batch.

    With ``use_sigmoid=True`` and ``reduction='mean'`` this equals
    ``torch.nn.functional.multilabel_soft_margin_loss``.

    Args:
        use_sigmoid (bool): ``pred`` holds logits (numerically stable
            BCE-with-logits). False: ``pred`` holds probabilities, clipped
            to ``[clip_eps, 1 - clip_eps]`` (methods.md §3.1.5). Default True.
        reduction (str): 'none', 'mean' (over classes and batch) or 'sum'.
            Default 'mean'.
        class_weight (list[float], optional): (C,) per-class weights
            multiplying the element-wise loss. Default None.
        loss_weight (float): Multiplier of the loss. Default 1.0.
        clip_eps (float): Probability clipping for ``use_sigmoid=False``.
            Default 1e-7.
        loss_name (str): Key of the loss in the loss dict; must start with
            ``loss_`` so mmengine sums it. Default 'loss_cls'.
    """

    def __init__(self,
                 use_sigmoid: bool = True,
                 reduction: str = 'mean',
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 clip_eps: float = 1e-7,
                 loss_name: str = 'loss_cls') -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'MultiLabelBCELoss: reduction must be one of '
                             f'{REDUCTIONS}, got {reduction!r}')
        if not loss_name.startswith('loss_'):
            raise ValueError('MultiLabelBCELoss: loss_name must start with '
                             f"'loss_' (mmengine sums those), got "
                             f'{loss_name!r}')
        if not 0 <= clip_eps < 0.5:
            raise ValueError(
                f'MultiLabelBCELoss: clip_eps must be in [0, 0.5), got '
                f'{clip_eps}')
        self.use_sigmoid = use_sigmoid
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.clip_eps = clip_eps
        self._loss_name = loss_name
        if class_weight is not None:
            self.register_buffer(
                'class_weight',
                torch.as_tensor(class_weight, dtype=torch.float32),
                persistent=False)
        else:
            self.class_weight = None

    @property
    def loss_name(self) -> str:
        """Key of this loss in the loss dict (starts with ``loss_``)."""
        return self._loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[int, float]] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): (B, C) logits (``use_sigmoid``) or probabilities.
            target (Tensor): (B, C) multi-hot targets in [0, 1].
            weight (Tensor, optional): (B, C) or (B, 1) element weights.
            avg_factor (int | float, optional): Divide the summed loss by it
                instead of the element count (``reduction='mean'`` only).
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: scalar, or (B, C) with reduction 'none'.
        """
        reduction = reduction_override or self.reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f'MultiLabelBCELoss: reduction must be one of '
                             f'{REDUCTIONS}, got {reduction!r}')
        if pred.shape != target.shape:
            raise ValueError(
                f'MultiLabelBCELoss: pred {tuple(pred.shape)} and target '
                f'{tuple(target.shape)} must have the same (B, C) shape')
        if torch.isnan(pred).any():
            raise ValueError(
                f'MultiLabelBCELoss ({self.loss_name}): the predictions '
                'contain NaN (diverged training? check the learning rate)')
        if torch.isnan(target).any():
            raise ValueError(f'MultiLabelBCELoss ({self.loss_name}): the '
                             'targets contain NaN')
        loss = multilabel_bce(pred, target, self.use_sigmoid, self.clip_eps)
        if self.class_weight is not None:
            if self.class_weight.numel() != loss.shape[-1]:
                raise ValueError(
                    f'MultiLabelBCELoss: class_weight has '
                    f'{self.class_weight.numel()} entries, the predictions '
                    f'have {loss.shape[-1]} classes')
            loss = loss * self.class_weight.to(loss)
        if weight is not None:
            weight = weight.to(loss)
        loss = weight_reduce_loss(
            loss, weight=weight, reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss
