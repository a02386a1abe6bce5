"""DecoupledNet-style class-conditioned figure-ground head (Hong, Noh & Han,
"Decoupled Deep Neural Network for Semi-supervised Semantic Segmentation",
NeurIPS 2015), the refinement-network option of SPN (methods.md §1.4).

The segmentation is binary and class-agnostic; which class it segments is
given by a conditioning class per (image, class) pair. DecoupledNet derives
the conditioning from class-specific activations of its classification
network (bridging layers); here it is a learned per-class FiLM modulation
of the encoder feature [ours: a reconstruction, no public code of the
SPN refinement exists]. The decoder is DecoupledNet's VGG-16 unpooling
decoder: widths 512,512,512 | 512,512,256 | 256,256,128 | 128,64 | 64,64,
each stage starting with an unpooling by the matching encoder switches
[code].
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS

DECOUPLEDNET_DECODER = ((512, 512, 512), (512, 512, 256), (256, 256, 128),
                        (128, 64), (64, 64))


@MODELS.register_module()
class DecoupledHead(BaseModule):
    """Class-conditioned fg/bg unpooling decoder + image classifier.

    Input: ``(z, switches)`` from :class:`VGG16Switches` (``z`` the pool5
    output or extra-conv feature, ``switches`` pool1..pool5) and, per
    (image, class) pair, the image index and the foreground class.

    Args:
        in_channels (int): Channels of ``z`` (VGG-16 pool5: 512).
        num_classes (int): Foreground classes C (VOC 20).
        bridge_channels (int): Width of the conditioned bridge feature; must
            equal the pool5 switch channels (512).
        decoder_channels (Sequence[Sequence[int]]): Conv widths of the five
            decoder stages, deepest first (DecoupledNet [code] by default).
            The last width of a stage must equal the channels of the next
            (shallower) switch.
        use_cls_branch (bool): Image classifier (GAP + FC, multi-label BCE)
            that predicts which classes to segment when no image labels are
            given [ours]. Default True.
        loss_seg (dict): Loss of the fg/bg map (CE, ignore 255).
        loss_cls (dict): Loss of the classifier.
        norm_cfg (dict): Norm of the decoder convs.
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 in_channels: int = 512,
                 num_classes: int = 20,
                 bridge_channels: int = 512,
                 decoder_channels: Sequence[Sequence[int]] = (
                     DECOUPLEDNET_DECODER),
                 use_cls_branch: bool = True,
                 loss_seg: dict = dict(
                     type='CrossEntropyLoss', use_sigmoid=False,
                     loss_weight=1.0, loss_name='loss_fg'),
                 loss_cls: dict = dict(
                     type='MultiLabelBCELoss', loss_name='loss_cls'),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(decoder_channels) != 5:
            raise ValueError('DecoupledHead.decoder_channels needs 5 stages '
                             f'(one per VGG pool), got {decoder_channels}')
        self.num_classes = num_classes
        self.bridge = ConvModule(in_channels, bridge_channels, 3, padding=1,
                                 norm_cfg=norm_cfg, act_cfg=None)
        # FiLM parameters per class: feature * (1 + gamma_c) + beta_c
        self.class_gamma = nn.Embedding(num_classes, bridge_channels)
        self.class_beta = nn.Embedding(num_classes, bridge_channels)
        nn.init.zeros_(self.class_gamma.weight)
        nn.init.normal_(self.class_beta.weight, std=0.1)
        self.bridge_channels = bridge_channels
        self.stages = nn.ModuleList()
        cin = bridge_channels
        for widths in decoder_channels:
            convs = []
            for cout in widths:
                convs.append(ConvModule(cin, cout, 3, padding=1,
                                        norm_cfg=norm_cfg))
                cin = cout
            self.stages.append(nn.Sequential(*convs))
        self.decoder_channels = [list(w) for w in decoder_channels]
        self.conv_seg = nn.Conv2d(cin, 2, 1)
        self.loss_seg = MODELS.build(loss_seg)
        self.use_cls_branch = use_cls_branch
        if use_cls_branch:
            self.fc_cls = nn.Linear(in_channels, num_classes)
            self.loss_cls = MODELS.build(loss_cls)

    def classify(self, z: Tensor) -> Tensor:
        """Image-level logits (B, C) from GAP(z) (B, C_in, h, w)."""
        return self.fc_cls(z.mean((2, 3)))

    def forward(self, inputs: Tuple, image_idx: Tensor,
                class_idx: Tensor) -> Tensor:
        """Figure-ground logits of (image, class) pairs.

        Args:
            inputs (tuple): ``(z, switches)``; z (B, C_in, h, w) and five
                :class:`PoolSwitch` (pool1..pool5).
            image_idx (Tensor): (N,) int64 image of each pair.
            class_idx (Tensor): (N,) int64 foreground class (0..C-1).

        Returns:
            Tensor: (N, 2, H, W) logits (channel 1 = the class), at the
            size of pool1's input (the image).
        """
        z, switches = inputs[0], inputs[1]
        if len(switches) != 5:
            raise ValueError(f'DecoupledHead needs 5 pool switches, got '
                             f'{len(switches)}')
        x = self.bridge(z)[image_idx]
        gamma = self.class_gamma(class_idx)[:, :, None, None]
        beta = self.class_beta(class_idx)[:, :, None, None]
        x = F.relu(x * (1 + gamma) + beta)
        for stage, switch in zip(self.stages, reversed(switches)):
            idx = switch.indices[image_idx]
            if x.shape[1] != idx.shape[1]:
                raise ValueError(
                    f'DecoupledHead: {x.shape[1]} channels reach an unpooling '
                    f'whose switches have {idx.shape[1]}; the decoder widths '
                    f'{self.decoder_channels} do not fit the encoder')
            x = F.max_unpool2d(x, idx, 2, 2, output_size=switch.input_size)
            x = stage(x)
        return self.conv_seg(x)
