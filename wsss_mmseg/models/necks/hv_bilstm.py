"""Horizontal-vertical BiLSTM refinement of a patch grid.

From ViT-PCM (Rossetti et al., "Max Pooling with Vision Transformers
Reconciles Class and Shape in Weakly Supervised Semantic Segmentation",
ECCV 2022), reused by APC (Wu et al., 2024); methods.md §3.1.2.
"""
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS


def sequence_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Input dropout with one mask per sequence (Keras ``LSTM(dropout=p)``).

    Args:
        x (Tensor): (S, L, D) sequences of length L.
        p (float): Drop probability.
        training (bool): Identity when False.

    Returns:
        Tensor: (S, L, D), the same feature dropped at every step.
    """
    if not training or p == 0:
        return x
    keep = torch.empty(
        x.shape[0], 1, x.shape[2], device=x.device,
        dtype=x.dtype).bernoulli_(1 - p)
    return x * keep / (1 - p)


@MODELS.register_module()
class HVBiLSTM(BaseModule):
    """Two bidirectional LSTMs over the rows and the columns of a grid.

    The horizontal BiLSTM reads every row of the (G_h, G_w) patch grid as
    a sequence (weights shared over rows); a second, separate BiLSTM reads
    every column. Their outputs are concatenated:
    ``D_out = 2 * 2 * hidden_channels`` (768 for hidden 192), same grid.

    Args:
        in_channels (int): D of the input grid (768 for ViT-B).
        hidden_channels (int): LSTM hidden size per direction. Default 192.
        dropout (float): Input dropout of each BiLSTM, one mask per
            sequence (Keras style, as ViT-PCM). Default 0.2.
        in_index (int): Which feature of the input tuple to refine.
            Default -1 (the last ViT block).
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 in_channels: int = 768,
                 hidden_channels: int = 192,
                 dropout: float = 0.2,
                 in_index: int = -1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 <= dropout < 1:
            raise ValueError(f'HVBiLSTM: dropout must be in [0, 1), got '
                             f'{dropout}')
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = 4 * hidden_channels
        self.dropout = dropout
        self.in_index = in_index
        self.lstm_h = nn.LSTM(
            in_channels, hidden_channels, batch_first=True,
            bidirectional=True)
        self.lstm_v = nn.LSTM(
            in_channels, hidden_channels, batch_first=True,
            bidirectional=True)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]
                ) -> Tuple[Tensor]:
        """Refine one grid.

        Args:
            inputs (Tensor | tuple[Tensor]): (B, D, G_h, G_w) or a tuple of
                such maps (``in_index`` picks one).

        Returns:
            tuple[Tensor]: one (B, 4 * hidden_channels, G_h, G_w) map.
        """
        x = inputs if isinstance(inputs, Tensor) else inputs[self.in_index]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'HVBiLSTM expects (B, {self.in_channels}, H, W)'
                             f' features, got {tuple(x.shape)}')
        b, d, h, w = x.shape
        grid = x.permute(0, 2, 3, 1)  # (B, H, W, D)
        rows = grid.reshape(b * h, w, d)
        rows = sequence_dropout(rows, self.dropout, self.training)
        out_h = self.lstm_h(rows)[0].reshape(b, h, w, -1)
        cols = grid.transpose(1, 2).reshape(b * w, h, d)
        cols = sequence_dropout(cols, self.dropout, self.training)
        out_v = self.lstm_v(cols)[0].reshape(b, w, h, -1).transpose(1, 2)
        out = torch.cat([out_h, out_v], dim=-1)
        return (out.permute(0, 3, 1, 2).contiguous(), )
