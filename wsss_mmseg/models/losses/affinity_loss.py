"""AffinityNet loss (Ahn & Kwak, CVPR 2018, Eq. 3-6; methods.md §2.5)."""
from typing import Dict

import torch.nn as nn
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.affinity import affinity_cross_entropy


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """Cross-entropy of pixel-pair affinities, three balanced terms.

    ``L = w_bg L_bg + w_fg L_fg + w_neg L_neg`` with each term normalised by
    its own pair count over the batch (:func:`affinity_cross_entropy`);
    defaults 1/4, 1/4, 1/2 as in the paper and code. Terms without pairs
    (an all-ignore crop, an image without confident foreground) are 0.

    Args:
        bg_weight (float): Weight of L_bg. Default 0.25.
        fg_weight (float): Weight of L_fg. Default 0.25.
        neg_weight (float): Weight of L_neg. Default 0.5.
        eps (float): Inside logs and denominators. Default 1e-5.
        loss_weight (float): Multiplies the total. Default 1.0.
        loss_name (str): Prefix of the returned keys. Default
            'loss_aff'.
    """

    def __init__(self,
                 bg_weight: float = 0.25,
                 fg_weight: float = 0.25,
                 neg_weight: float = 0.5,
                 eps: float = 1e-5,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_aff') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError("AffinityLoss: loss_name must start with 'loss_'"
                             f' so that mmengine sums it, got {loss_name!r}')
        self.bg_weight = bg_weight
        self.fg_weight = fg_weight
        self.neg_weight = neg_weight
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, affinity: Tensor, bg_pos: Tensor, fg_pos: Tensor,
                neg: Tensor) -> Dict[str, Tensor]:
        """Weighted terms of the loss.

        Args:
            affinity (Tensor): (B, K, Hs, Ws) predicted affinities.
            bg_pos, fg_pos, neg (Tensor): (B, K, Hs, Ws) bool pair masks.

        Returns:
            dict[str, Tensor]: ``{loss_name}_bg``, ``_fg``, ``_neg``: the
            weighted scalar terms (mmengine sums every ``loss_*`` key).
        """
        bg, fg, ng = affinity_cross_entropy(affinity, bg_pos, fg_pos, neg,
                                            self.eps)
        w = self.loss_weight
        return {
            f'{self._loss_name}_bg': w * self.bg_weight * bg,
            f'{self._loss_name}_fg': w * self.fg_weight * fg,
            f'{self._loss_name}_neg': w * self.neg_weight * ng,
        }

    @property
    def loss_name(self) -> str:
        """Prefix of the loss keys."""
        return self._loss_name
