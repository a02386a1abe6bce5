"""VGG-16 encoder keeping its max-pool switches, for SPN (Kwak et al., AAAI
2017) and DecoupledNet-style unpooling decoders (methods.md §1.1.1)."""
import re
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS


class PoolSwitch(NamedTuple):
    """Argmax indices of a 2x2/2 max-pool and the size it pooled.

    Attributes:
        indices (Tensor): (B, C, h, w) int64 flat index into the pooled
            input plane ``(H, W)`` (as ``F.max_pool2d(return_indices=True)``).
        input_size (tuple[int, int]): (H, W) of the pool's input, so an
            unpooling restores odd sizes exactly.
    """
    indices: Tensor
    input_size: Tuple[int, int]


VGG16_WIDTHS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512],
                [512, 512, 512]]


def convert_vgg16_state_dict(state_dict: Dict[str, Tensor],
                             num_convs: int = 13) -> 'OrderedDict':
    """Map an ImageNet VGG-16 checkpoint onto :class:`VGG16Switches` keys.

    Accepted layouts (classifier / fc weights are dropped):

    - torchvision ``vgg16``: ``features.{0,2,5,...,28}.{weight,bias}``;
    - mmpretrain ``VGG(depth=16)``:
      ``[backbone.]features.{0,1,3,...,16}.conv.{weight,bias}``;
    - already converted: ``[backbone.]stages.{s}.{l}.{weight,bias}`` (and
      ``extra_conv``, kept).

    Convolutions are matched by order of their index in ``features``.

    Args:
        state_dict (dict): The checkpoint's state dict.
        num_convs (int): Convolutions expected (13 for VGG-16).

    Returns:
        OrderedDict: ``stages.{s}.{l}.{weight,bias}`` keys.

    Raises:
        KeyError: when no known layout matches or the count differs.
    """
    widths = [len(s) for s in VGG16_WIDTHS]
    ours = re.compile(
        r'^(?:backbone\.)?((?:stages\.\d+\.\d+)|extra_conv)\.(weight|bias)$')
    tv = re.compile(r'^(?:backbone\.)?features\.(\d+)\.(weight|bias)$')
    mmp = re.compile(
        r'^(?:backbone\.)?features\.(\d+)\.conv\.(weight|bias)$')
    out = OrderedDict()
    found = {k: ours.match(k) for k in state_dict}
    if any(found.values()):
        for key, m in found.items():
            if m:
                out[f'{m[1]}.{m[2]}'] = state_dict[key]
        return out
    for pattern in (tv, mmp):
        convs: Dict[int, Dict[str, Tensor]] = {}
        for key, value in state_dict.items():
            m = pattern.match(key)
            if m and value.dim() in (1, 4):
                convs.setdefault(int(m[1]), {})[m[2]] = value
        if convs:
            break
    if not convs:
        raise KeyError('no VGG-16 convolution found in the checkpoint; '
                       'expected torchvision keys "features.N.weight" or '
                       'mmpretrain keys "backbone.features.N.conv.weight", '
                       f'found e.g. {list(state_dict)[:5]}')
    order = sorted(convs)
    if len(order) != num_convs:
        raise KeyError(f'expected {num_convs} VGG-16 convolutions, found '
                       f'{len(order)} at features indices {order}')
    flat = [(s, l) for s, n in enumerate(widths) for l in range(n)]
    for (stage, layer), idx in zip(flat, order):
        for name, value in convs[idx].items():
            out[f'stages.{stage}.{layer}.{name}'] = value
    return out


@MODELS.register_module()
class VGG16Switches(BaseModule):
    """VGG-16 conv1_1..conv5_3 whose five max-pools keep their switches.

    SPN encoder [paper]: the ImageNet VGG-16 convolutions, **frozen**, plus
    one extra trainable 3x3 convolution (+ ReLU) on the pool5 output. The
    argmax indices of every pool are returned so a decoder can unpool.

    Output (a 2-tuple, consumed by :class:`SwitchUnpoolUpsampler` or
    :class:`DecoupledHead`)::

        (z, switches)
        z         (B, C_z, H/32, W/32)  extra conv output (C_z =
                                         extra_conv_channels), or pool5
                                         output if extra_conv_channels=None
        switches  tuple of 5 PoolSwitch, pool1..pool5

    Args:
        arch (str | list[list[int]]): 'vgg16' or the output widths of the
            convs of each of the five stages (tests use tiny widths).
        extra_conv_channels (int, optional): Width of the extra trainable
            3x3 conv (paper: 512). None: no extra conv.
        frozen (bool): Freeze the VGG convolutions (paper: True). The extra
            conv is always trainable.
        norm_cfg (dict, optional): A norm after every VGG conv (kept in
            ``norms``; not in ImageNet VGG-16, whose checkpoints then leave
            the norms at their init). Default None (plain VGG-16). Useful
            for training a thin VGG from scratch (toy configs) [ours].
            Frozen norms stay in train mode unless frozen (then eval).
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` loads torchvision, mmpretrain or converted
            VGG-16 checkpoints (see :func:`convert_vgg16_state_dict`).
    """

    arch_zoo = {'vgg16': VGG16_WIDTHS}

    def __init__(self,
                 arch: Union[str, Sequence[Sequence[int]]] = 'vgg16',
                 in_channels: int = 3,
                 extra_conv_channels: Optional[int] = 512,
                 frozen: bool = True,
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'VGG16Switches arch {arch!r} unknown; use '
                               f'{list(self.arch_zoo)} or a list of widths')
            widths = self.arch_zoo[arch]
        else:
            widths = [list(s) for s in arch]
        if len(widths) != 5:
            raise ValueError(f'VGG16Switches needs 5 stages, got {widths}')
        self.widths = widths
        self.frozen = frozen
        self.stages = nn.ModuleList()
        self.norms = nn.ModuleList() if norm_cfg else None
        cin = in_channels
        for stage in widths:
            convs = nn.ModuleList()
            norms = nn.ModuleList()
            for cout in stage:
                convs.append(nn.Conv2d(cin, cout, 3, padding=1))
                if norm_cfg:
                    norms.append(build_norm_layer(norm_cfg, cout)[1])
                cin = cout
            self.stages.append(convs)
            if norm_cfg:
                self.norms.append(norms)
        self.extra_conv = None
        self.out_channels = cin
        if extra_conv_channels:
            self.extra_conv = nn.Conv2d(cin, extra_conv_channels, 3,
                                        padding=1)
            self.out_channels = extra_conv_channels
        if frozen:
            for p in self.stages.parameters():
                p.requires_grad = False
            if self.norms is not None:
                for p in self.norms.parameters():
                    p.requires_grad = False

    def init_weights(self) -> None:
        """Load (and convert) a pretrained VGG-16, else default init."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            from mmengine.runner.checkpoint import CheckpointLoader
            ckpt = CheckpointLoader.load_checkpoint(
                cfg['checkpoint'], map_location='cpu')
            state = ckpt.get('state_dict', ckpt)
            converted = convert_vgg16_state_dict(
                state, num_convs=sum(len(s) for s in self.widths))
            missing, unexpected = self.load_state_dict(converted, strict=False)
            missing = [
                k for k in missing
                if not k.startswith(('extra_conv', 'norms'))
            ]
            if missing or unexpected:
                raise KeyError(
                    f'VGG16Switches: checkpoint {cfg["checkpoint"]} does not '
                    f'fit: missing {missing}, unexpected {unexpected}')
            return
        super().init_weights()

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[PoolSwitch, ...]]:
        """Encode.

        Args:
            x (Tensor): (B, 3, H, W) images.

        Returns:
            tuple: ``z`` (B, C_z, H/32, W/32) and the five
            :class:`PoolSwitch` of pool1..pool5.
        """
        switches: List[PoolSwitch] = []
        for s, convs in enumerate(self.stages):
            for l, conv in enumerate(convs):
                x = conv(x)
                if self.norms is not None:
                    x = self.norms[s][l](x)
                x = F.relu(x, inplace=True)
            size = (int(x.shape[-2]), int(x.shape[-1]))
            if size[0] < 2 or size[1] < 2:
                raise ValueError(
                    f'VGG16Switches: input too small for five 2x2 pools '
                    f'(a pool input is {size})')
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            switches.append(PoolSwitch(idx, size))
        if self.extra_conv is not None:
            x = F.relu(self.extra_conv(x))
        return x, tuple(switches)

    def train(self, mode: bool = True) -> 'VGG16Switches':
        """Set the mode; frozen norms stay in eval mode."""
        super().train(mode)
        if self.frozen and self.norms is not None:
            self.norms.eval()
        return self
