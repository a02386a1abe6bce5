"""VGG-16 in the DeepLab-LargeFOV form (Chen et al., ICLR 2015) used by PSA's
VGG variant (Ahn & Kwak, CVPR 2018; methods.md §2.2).

pool4 and pool5 have stride 1, conv5 is dilated by 2 and the fully
connected layers are convolutions (fc6 3x3 with 1024 channels, dilation 1
for the CAM network and 4 for AffinityNet; fc7 1x1 with 1024), so every
output has stride 8. The SPN VGG-16 (pooling switches) is a different
network in ``vgg16_switches.py``.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS


@MODELS.register_module()
class VGG16LargeFOV(BaseModule):
    """DeepLab-LargeFOV VGG-16 at output stride 8 [code].

    ::

        conv1_x ─ pool1 /2 ─ conv2_x ─ pool2 /2 ─ conv3_x ─ pool3 /2 ─
        conv4_x ─┬ pool4 /1 ─ conv5_x (dil. 2) ─┬ fc6 3x3 (dil. d) ─ drop ─ fc7
                 │                               │
        outputs ('conv4', 'conv5', 'conv5fc'):
          0: relu(conv4_3)   (B, 512, H/8, W/8)
          1: relu(conv5_3)   (B, 512, H/8, W/8)
          2: relu(fc7)       (B, 1024, H/8, W/8)

    Args:
        arch (str | dict): 'd16' (VGG-16 widths) or a dict with
            ``channels`` (5 ints, the conv blocks) and ``fc_channels``
            (int), for tiny test models.
        fc6_dilation (int): 1 for the CAM network, 4 for AffinityNet [code].
        fc_dropout (float): Dropout2d after fc6. Default 0.5.
        out_indices (Sequence[int]): Which of the three outputs to return.
        frozen_stages (int): Number of conv blocks (conv1_x, conv2_x, ...)
            frozen; the authors freeze 2 [code]. Default 2.
        init_cfg (dict, optional): E.g. converted DeepLab ImageNet weights.
    """

    arch_zoo: Dict[str, Dict] = {
        'd16': dict(channels=[64, 128, 256, 512, 512], fc_channels=1024)
    }
    depths = (2, 2, 3, 3, 3)

    def __init__(self,
                 arch: Union[str, Dict] = 'd16',
                 fc6_dilation: int = 1,
                 fc_dropout: float = 0.5,
                 out_indices: Sequence[int] = (0, 1, 2),
                 frozen_stages: int = 2,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'VGG16LargeFOV: unknown arch {arch!r}, '
                               f'choose from {sorted(self.arch_zoo)}')
            arch = self.arch_zoo[arch]
        if len(arch.get('channels', ())) != 5 or 'fc_channels' not in arch:
            raise KeyError('VGG16LargeFOV: arch needs channels (5 ints) and '
                           f'fc_channels, got {arch}')
        if not -1 <= frozen_stages <= 5:
            raise ValueError('VGG16LargeFOV: frozen_stages must be in '
                             f'[-1, 5], got {frozen_stages}')
        self.out_indices = tuple(i % 3 for i in out_indices)
        self.frozen_stages = frozen_stages
        in_ch = 3
        for block, (ch, depth) in enumerate(zip(arch['channels'],
                                                self.depths)):
            dilation = 2 if block == 4 else 1
            for j in range(depth):
                self.add_module(
                    f'conv{block + 1}_{j + 1}',
                    nn.Conv2d(
                        in_ch, ch, 3, padding=dilation, dilation=dilation))
                in_ch = ch
        fc = arch['fc_channels']
        self.fc6 = nn.Conv2d(
            in_ch, fc, 3, padding=fc6_dilation, dilation=fc6_dilation)
        self.drop6 = nn.Dropout2d(fc_dropout)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.out_channels = (arch['channels'][3], arch['channels'][4], fc)
        self._freeze()

    def _freeze(self) -> None:
        for block in range(min(self.frozen_stages, 5)):
            for j in range(self.depths[block]):
                conv = getattr(self, f'conv{block + 1}_{j + 1}')
                for param in conv.parameters():
                    param.requires_grad = False

    def _block(self, x: Tensor, block: int) -> Tensor:
        for j in range(self.depths[block]):
            x = F.relu(getattr(self, f'conv{block + 1}_{j + 1}')(x))
        return x

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward.

        Args:
            x (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: the outputs selected by ``out_indices``, each
            (B, C_i, ceil(H / 8), ceil(W / 8)).
        """
        for block in range(3):
            x = F.max_pool2d(self._block(x, block), 3, 2, 1)
        conv4 = self._block(x, 3)
        conv5 = self._block(F.max_pool2d(conv4, 3, 1, 1), 4)
        x = self.drop6(F.relu(self.fc6(conv5)))
        conv5fc = F.relu(self.fc7(x))
        outs = (conv4, conv5, conv5fc)
        return tuple(outs[i] for i in self.out_indices)
