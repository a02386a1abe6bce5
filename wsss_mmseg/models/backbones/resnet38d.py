"""ResNet-38 ("wider ResNet A1", Wu, Shen & van den Hengel, "Wider or Deeper:
Revisiting the ResNet Model for Visual Recognition", PR 2019) with dilation
at output stride 8, as used by PSA (Ahn & Kwak, CVPR 2018; methods.md §2.2).

Pre-activation residual blocks (BN -> ReLU -> conv). The authors' released
ImageNet weights (converted from MXNet) load after
``tools/model_converters/psa_to_wsss.py``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS


def _zero_scale(channels: int) -> nn.Parameter:
    """A learnable per-channel scale (1, C, 1, 1), initialised to 0."""
    return nn.Parameter(torch.zeros(1, channels, 1, 1))


class PreActBlock(nn.Module):
    """Pre-activation basic block: two 3x3 convs (wider ResNet "B2" unit).

    ``y = shortcut(x) + conv2(relu(bn2(conv1(relu(bn1(x))))))`` where the
    shortcut is the identity, or a 1x1 conv of ``relu(bn1(x))`` when the
    shape changes.

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Channels after the first conv.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv and the shortcut.
        first_dilation (int): Dilation (= padding) of the first conv.
        dilation (int): Dilation (= padding) of the second conv.
        residual_scale (bool): Multiply the branch by a learnable
            per-channel scale initialised to 0 (see :class:`ResNet38d`).
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 first_dilation: int = 1,
                 dilation: int = 1,
                 residual_scale: bool = False) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(
            in_channels,
            mid_channels,
            3,
            stride,
            padding=first_dilation,
            dilation=first_dilation,
            bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(
            mid_channels,
            out_channels,
            3,
            padding=dilation,
            dilation=dilation,
            bias=False)
        self.shortcut = None
        if in_channels != out_channels or stride != 1:
            self.shortcut = nn.Conv2d(
                in_channels, out_channels, 1, stride, bias=False)
        self.scale = _zero_scale(out_channels) if residual_scale else None

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Forward.

        Args:
            x (Tensor): (B, C_in, H, W).

        Returns:
            tuple[Tensor, Tensor]: output (B, C_out, H', W') and the
            block's pre-activation ``relu(bn1(x))`` (B, C_in, H, W).
        """
        act = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(act)
        out = self.conv2(F.relu(self.bn2(self.conv1(act))))
        if self.scale is not None:
            out = out * self.scale
        return shortcut + out, act


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck of ResNet-38's last two stages.

    1x1 (C/4) -> 3x3 dilated (C/2) -> 1x1 (C), each preceded by BN + ReLU,
    with ``Dropout2d`` before the last two convs; 1x1 conv shortcut.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels C.
        stride (int): Stride of the first conv and the shortcut.
        dilation (int): Dilation of the 3x3 conv.
        dropout (float): Dropout2d probability.
        residual_scale (bool): Multiply the branch by a learnable
            per-channel scale initialised to 0 (see :class:`ResNet38d`).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 dropout: float = 0.0,
                 residual_scale: bool = False) -> None:
        super().__init__()
        quarter, half = out_channels // 4, out_channels // 2
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, quarter, 1, stride, bias=False)
        self.bn2 = nn.BatchNorm2d(quarter)
        self.dropout2 = nn.Dropout2d(dropout)
        self.conv2 = nn.Conv2d(
            quarter, half, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn3 = nn.BatchNorm2d(half)
        self.dropout3 = nn.Dropout2d(dropout)
        self.conv3 = nn.Conv2d(half, out_channels, 1, bias=False)
        self.shortcut = nn.Conv2d(
            in_channels, out_channels, 1, stride, bias=False)
        self.scale = _zero_scale(out_channels) if residual_scale else None

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Forward.

        Args:
            x (Tensor): (B, C_in, H, W).

        Returns:
            tuple[Tensor, Tensor]: output (B, C_out, H', W') and the
            pre-activation ``relu(bn1(x))`` (B, C_in, H, W).
        """
        act = F.relu(self.bn1(x))
        out = self.conv1(act)
        out = self.conv2(self.dropout2(F.relu(self.bn2(out))))
        out = self.conv3(self.dropout3(F.relu(self.bn3(out))))
        if self.scale is not None:
            out = out * self.scale
        return self.shortcut(act) + out, act


@MODELS.register_module()
class ResNet38d(BaseModule):
    """ResNet-38 (wider ResNet A1) at output stride 8 [code].

    ::

        conv1a 3x3/64 ─ layer2 (3 blocks, /2) ─ layer3 (3, /2) ─ layer4
        (6, /2) ─ layer5 (3, dilation 2) ─┬ layer6 bottleneck (dil. 4,
                                          │ dropout 0.3) ─ layer7 bottleneck
                                          │ (dil. 4, dropout 0.5) ─ bn7+ReLU
        outputs ('conv4', 'conv5', 'conv6'):
          0: relu(bn) input of layer5   (B, 512, H/8, W/8)
          1: relu(bn) input of layer6   (B, 1024, H/8, W/8)
          2: relu(bn7(layer7))          (B, 4096, H/8, W/8)

    The CAM network uses output 2; AffinityNet all three.

    Args:
        arch (str | dict): 'a1' (the paper's) or a dict with
            ``stem_channels`` (int), ``stage_channels`` (4 (mid, out)
            pairs of the basic stages), ``stage_blocks`` (4 ints),
            ``bottleneck_channels`` (2 ints), so tests can build a tiny
            model.
        out_indices (Sequence[int]): Which of the three outputs to return.
            Default (0, 1, 2).
        dropouts (tuple[float, float]): Dropout2d of layer6 and layer7.
            Default (0.3, 0.5) [code].
        frozen_stages (int): -1: nothing frozen; 0: conv1a (paper); 1:
            conv1a and layer2 — what the authors' CAM and AffinityNet
            training scripts freeze [code]. Default 0.
        norm_eval (bool): Keep every BN in eval mode with frozen affine
            parameters (the authors' setting). Default True.
        stem_stride (int): Downsampling of the stem: 1 (conv1a at full
            resolution, the authors') or 4: conv1a with stride 2 followed
            by a 3x3 / 2 max pool, the downsampling of the usual ResNet stem
            (He et al., CVPR 2016); layer2 and layer3 then keep stride 1,
            so the output stride stays 8. No new parameters (a first block
            that no longer changes shape gets an identity shortcut). Our
            option for the from-scratch toy configs, not the authors'.
            Default 1.
        residual_scale (bool): End every residual branch in a learnable
            per-channel scale ``scale`` (1, C, 1, 1) initialised to 0, so
            each block starts as its shortcut and the branch grows from
            there. This is the pre-activation counterpart of the
            zero-initialised last BN gamma of post-activation ResNets
            (Goyal et al., 2017; mmseg's ``zero_init_residual``), and
            SkipInit (De & Smith, NeurIPS 2020) with one scale per channel.
            Zeroing the last conv's weight instead is not equivalent: that
            conv then takes a full-size first step. Adds parameters, so the
            authors' checkpoints load only without it. Our option for
            from-scratch training, not the authors'. Default False.
        init_cfg (dict, optional): E.g. ``dict(type='Pretrained',
            checkpoint=...)`` with converted ImageNet weights.
    """

    arch_zoo: Dict[str, Dict] = {
        'a1':
        dict(
            stem_channels=64,
            stage_channels=[(128, 128), (256, 256), (512, 512), (512, 1024)],
            stage_blocks=[3, 3, 6, 3],
            bottleneck_channels=[2048, 4096]),
    }
    out_names = ('conv4', 'conv5', 'conv6')

    def __init__(self,
                 arch: Union[str, Dict] = 'a1',
                 out_indices: Sequence[int] = (0, 1, 2),
                 dropouts: Tuple[float, float] = (0.3, 0.5),
                 frozen_stages: int = 0,
                 norm_eval: bool = True,
                 stem_stride: int = 1,
                 residual_scale: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'ResNet38d: unknown arch {arch!r}, choose '
                               f'from {sorted(self.arch_zoo)} or pass a dict')
            arch = self.arch_zoo[arch]
        keys = {'stem_channels', 'stage_channels', 'stage_blocks',
                'bottleneck_channels'}
        if set(arch) != keys:
            raise KeyError(f'ResNet38d: arch dict needs exactly the keys '
                           f'{sorted(keys)}, got {sorted(arch)}')
        for i in out_indices:
            if i not in (0, 1, 2, -1, -2, -3):
                raise ValueError('ResNet38d: out_indices index the outputs '
                                 f'{self.out_names}, got {out_indices}')
        if frozen_stages not in (-1, 0, 1):
            raise ValueError('ResNet38d: frozen_stages must be -1, 0 or 1, '
                             f'got {frozen_stages}')
        if stem_stride not in (1, 4):
            raise ValueError('ResNet38d: stem_stride must be 1 or 4, got '
                             f'{stem_stride}')
        self.out_indices = tuple(i % 3 for i in out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.stem_stride = stem_stride

        stem = arch['stem_channels']
        self.conv1a = nn.Conv2d(
            3, stem, 3, stride=min(stem_stride, 2), padding=1, bias=False)
        self.stem_pool = nn.MaxPool2d(
            3, 2, padding=1) if stem_stride == 4 else None
        in_ch = stem
        # (stride, first dilation, dilation) of layers 2..5 [code]; a
        # downsampling stem takes over the strides of layer2 and layer3
        placements = [(2, 1, 1), (2, 1, 1), (2, 1, 1), (1, 1, 2)]
        if stem_stride == 4:
            placements[:2] = [(1, 1, 1), (1, 1, 1)]
        for idx, ((mid, out), blocks, (stride, first_dil, dil)) in enumerate(
                zip(arch['stage_channels'], arch['stage_blocks'],
                    placements)):
            layer = []
            for b in range(blocks):
                layer.append(
                    PreActBlock(
                        in_ch,
                        mid,
                        out,
                        stride=stride if b == 0 else 1,
                        first_dilation=first_dil if b == 0 else dil,
                        dilation=dil,
                        residual_scale=residual_scale))
                in_ch = out
            self.add_module(f'layer{idx + 2}', nn.ModuleList(layer))
        ch6, ch7 = arch['bottleneck_channels']
        self.layer6 = PreActBottleneck(
            in_ch,
            ch6,
            dilation=4,
            dropout=dropouts[0],
            residual_scale=residual_scale)
        self.layer7 = PreActBottleneck(
            ch6,
            ch7,
            dilation=4,
            dropout=dropouts[1],
            residual_scale=residual_scale)
        self.bn7 = nn.BatchNorm2d(ch7)
        # pre-activation of layer5 = output of layer4
        self.out_channels = (arch['stage_channels'][2][1], in_ch, ch7)
        self._freeze()

    def _frozen_modules(self) -> List[nn.Module]:
        modules = []
        if self.frozen_stages >= 0:
            modules.append(self.conv1a)
        if self.frozen_stages >= 1:
            modules.append(self.layer2)
        return modules

    def _freeze(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False
        if self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
                    for param in module.parameters():
                        param.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNet38d':
        """Set train mode, keeping frozen parts and (norm_eval) BN in eval."""
        super().train(mode)
        self._freeze()
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Forward.

        Args:
            x (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: the outputs selected by ``out_indices``, each
            (B, C_i, ceil(H / 8), ceil(W / 8)).
        """
        x = self.conv1a(x)
        if self.stem_pool is not None:
            x = self.stem_pool(x)
        for name in ('layer2', 'layer3', 'layer4'):
            for block in getattr(self, name):
                x, _ = block(x)
        conv4 = None
        for i, block in enumerate(self.layer5):
            x, act = block(x)
            if i == 0:
                conv4 = act
        if conv4 is None:  # arch without layer5 blocks
            conv4 = F.relu(x)
        x, conv5 = self.layer6(x)
        x, _ = self.layer7(x)
        conv6 = F.relu(self.bn7(x))
        outs = (conv4, conv5, conv6)
        return tuple(outs[i] for i in self.out_indices)
