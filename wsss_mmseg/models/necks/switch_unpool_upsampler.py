"""Feature upsampler of SPN (Kwak et al., AAAI 2017), methods.md §1.1.2.

Two deconvolutions, an unpooling with the encoder's pool5 switches, two more
deconvolutions; BN + ReLU after every deconvolution. The output has K
channels at stride 16 (the unpooling undoes pool5).
"""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS


@MODELS.register_module()
class SwitchUnpoolUpsampler(BaseModule):
    """deconv x2 -> unpool (pool5 switches) -> deconv x2, BN+ReLU each.

    Deconvolutions are 3x3, stride 1 transposed convolutions (the
    DeconvNet/DecoupledNet form); sizes the paper does not give (kernel 3,
    widths 512) are our reading and configurable.

    Input: the backbone output ``(z, switches)`` of :class:`VGG16Switches`
    (``z``: (B, C_in, H/32, W/32); ``switches[-1]``: pool5).

    Args:
        in_channels (int): C_in, the encoder feature width (paper: 512).
        channels (Sequence[int]): Widths of the four deconvolutions; the
            last is K (paper: K = 512) [ours: all 512].
        pool5_channels (int): Width at the unpooling, which must equal the
            channels of pool5's switches; the second deconv outputs it.
            Default: 512 (VGG-16).
        kernel_size (int): Deconvolution kernel [ours: 3].
        norm_cfg (dict): Norm after every deconvolution (paper: BN).
        init_cfg (dict, optional): As in mmengine.

    Returns (forward):
        tuple[Tensor]: ``(F,)``, (B, K, H/16, W/16).
    """

    def __init__(self,
                 in_channels: int = 512,
                 channels: Sequence[int] = (512, 512, 512, 512),
                 pool5_channels: int = 512,
                 kernel_size: int = 3,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 4:
            raise ValueError('SwitchUnpoolUpsampler.channels must list 4 '
                             f'deconvolution widths, got {channels}')
        if channels[1] != pool5_channels:
            raise ValueError(
                f'SwitchUnpoolUpsampler: the second deconvolution feeds the '
                f'unpooling, so channels[1] ({channels[1]}) must equal '
                f'pool5_channels ({pool5_channels})')
        self.out_channels = channels[-1]
        self.pool5_channels = pool5_channels
        self.blocks = nn.ModuleList()
        cin = in_channels
        for cout in channels:
            self.blocks.append(
                nn.Sequential(
                    nn.ConvTranspose2d(
                        cin, cout, kernel_size, padding=kernel_size // 2,
                        bias=False),
                    build_norm_layer(norm_cfg, cout)[1],
                    nn.ReLU(inplace=True)))
            cin = cout

    def forward(self, inputs: Tuple) -> Tuple[Tensor]:
        """Upsample.

        Args:
            inputs (tuple): ``(z, switches)``; z (B, C_in, h, w) and
                switches a sequence of :class:`PoolSwitch`, the last being
                pool5 with indices (B, pool5_channels, h, w).

        Returns:
            tuple[Tensor]: ``(F,)`` with F (B, K, H5, W5), (H5, W5) the size
            of pool5's input (stride 16).
        """
        z, switches = inputs[0], inputs[1]
        pool5 = switches[-1]
        x = self.blocks[1](self.blocks[0](z))
        if x.shape != pool5.indices.shape:
            raise ValueError(
                f'SwitchUnpoolUpsampler: features {tuple(x.shape)} do not '
                f'match the pool5 switches {tuple(pool5.indices.shape)}')
        x = F.max_unpool2d(
            x, pool5.indices, kernel_size=2, stride=2,
            output_size=pool5.input_size)
        x = self.blocks[3](self.blocks[2](x))
        return (x, )
