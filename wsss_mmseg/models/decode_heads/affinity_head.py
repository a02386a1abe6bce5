"""AffinityNet head (Ahn & Kwak, "Learning Pixel-level Semantic Affinity
with Image-level Supervision", CVPR 2018; methods.md §2.4-§2.5).
"""
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.affinity import (PSA_IGNORE_INDEX, affinity_from_features,
                            affinity_label_masks)
from ..ops.psa_labels import label_grid


@MODELS.register_module()
class AffinityHead(BaseModule):
    """Affinity features from three backbone levels, and their loss.

    ::

        feats[0] ─ 1x1 (64) ─ [GN] ─ ELU ┐
        feats[1] ─ 1x1 (128) ─ [GN] ─ ELU ┼ concat (448) ─ 1x1 (448) ─ ELU
        feats[2] ─ 1x1 (256) ─ [GN] ─ ELU ┘        = f_aff (B, 448, h, w)
          └─ affinities: a_ij = exp(-mean_d |f_i - f_j|)  (B, K, Hs, Ws)
              └─ loss: AffinityLoss vs pair labels from the stride-8 grid
                 of the confident-region map (gt_sem_seg)

    All convs have no bias [code]; Kaiming-normal init of the projections,
    Xavier-uniform (gain 4) of the fusion conv [code].

    Args:
        in_channels (Sequence[int]): Channels of the three backbone levels
            (ResNet-38: 512, 1024, 4096; VGG-16: 512, 512, 1024).
        num_classes (int): Classes with background (checks the labels).
        proj_channels (Sequence[int]): Projection widths. Default
            (64, 128, 256).
        norm_groups (Sequence[int], optional): GroupNorm groups after each
            projection; the VGG-16 variant uses (8, 16, 32), ResNet-38 none
            [code]. Default None.
        radius (int): Pair radius on the grid. Default 5.
        distance (str): 'mean' (code, default) or 'sum' (paper) over the
            feature channels in the affinity.
        stride (int): Output stride of the features. Default 8.
        ignore_index (int): Unsure label of the confident regions.
        loss_aff (dict): The loss. Default ``dict(type='AffinityLoss')``.
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_classes: int,
                 proj_channels: Sequence[int] = (64, 128, 256),
                 norm_groups: Optional[Sequence[int]] = None,
                 radius: int = 5,
                 distance: str = 'mean',
                 stride: int = 8,
                 ignore_index: int = PSA_IGNORE_INDEX,
                 loss_aff: ConfigType = dict(type='AffinityLoss'),
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(proj_channels):
            raise ValueError(f'AffinityHead: {len(in_channels)} in_channels '
                             f'but {len(proj_channels)} proj_channels')
        if norm_groups is not None and len(norm_groups) != len(
                proj_channels):
            raise ValueError('AffinityHead: norm_groups needs one entry per '
                             f'projection, got {norm_groups}')
        if distance not in ('mean', 'sum'):
            raise ValueError("AffinityHead: distance must be 'mean' or "
                             f"'sum', got {distance!r}")
        self.in_channels = tuple(in_channels)
        self.num_classes = num_classes
        self.radius = radius
        self.distance = distance
        self.stride = stride
        self.ignore_index = ignore_index
        self.projections = nn.ModuleList(
            nn.Conv2d(c_in, c_out, 1, bias=False)
            for c_in, c_out in zip(in_channels, proj_channels))
        self.norms = nn.ModuleList(
            nn.GroupNorm(g, c) if norm_groups is not None else nn.Identity()
            for g, c in zip(norm_groups or [None] * len(proj_channels),
                            proj_channels))
        total = sum(proj_channels)
        self.fuse = nn.Conv2d(total, total, 1, bias=False)
        self.channels = total
        for conv in self.projections:
            nn.init.kaiming_normal_(conv.weight)
        nn.init.xavier_uniform_(self.fuse.weight, gain=4)
        self.loss_aff = MODELS.build(loss_aff)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Affinity features f_aff.

        Args:
            feats (list[Tensor]): Three maps (B, in_channels[i], h, w).

        Returns:
            Tensor: (B, 448, h, w) features.
        """
        if len(feats) != len(self.projections):
            raise ValueError(f'AffinityHead: got {len(feats)} feature maps, '
                             f'expected {len(self.projections)} (backbone '
                             'out_indices)')
        outs = []
        for x, proj, norm, c_in in zip(feats, self.projections, self.norms,
                                       self.in_channels):
            if x.shape[1] != c_in:
                raise ValueError(f'AffinityHead: a feature map has '
                                 f'{x.shape[1]} channels, in_channels says '
                                 f'{c_in}')
            outs.append(F.elu(norm(proj(x))))
        return F.elu(self.fuse(torch.cat(outs, dim=1)))

    def affinities(self, feats: Sequence[Tensor]) -> Tensor:
        """Pair affinities of the feature grid.

        Args:
            feats (list[Tensor]): Three maps (B, C_i, h, w).

        Returns:
            Tensor: (B, K, Hs, Ws) affinities (34 offsets for radius 5).
        """
        return affinity_from_features(
            self.forward(feats), self.radius, self.distance)

    def label_grid(self, data_samples: SampleList, grid_size) -> Tensor:
        """Stride-8 label grid of the batch's confident-region maps.

        Args:
            data_samples (list[SegDataSample]): Carry ``gt_sem_seg``
                ((1, H, W) labels {0, 1..C-1, 255}).
            grid_size (tuple[int, int]): (h, w) of the feature grid.

        Returns:
            Tensor: (B, h, w) int64 labels.
        """
        maps = []
        for i, ds in enumerate(data_samples):
            if 'gt_sem_seg' not in ds:
                raise ValueError(
                    'AffinityHead: training needs the confident-region map '
                    'as gt_sem_seg, missing for '
                    f"{ds.metainfo.get('img_path', f'sample #{i}')}; make "
                    'them with tools/make_pseudo_labels.py (PSA stage 2)')
            maps.append(ds.gt_sem_seg.data.reshape(ds.gt_sem_seg.shape))
        labels = torch.stack(maps).long()
        height, width = grid_size[0] * self.stride, grid_size[1] * self.stride
        pad_h, pad_w = height - labels.shape[-2], width - labels.shape[-1]
        if pad_h < 0 or pad_w < 0:
            labels = labels[..., :height, :width]
        labels = F.pad(
            labels, (0, max(pad_w, 0), 0, max(pad_h, 0)),
            value=self.ignore_index)
        return label_grid(labels, self.num_classes, self.stride,
                          self.ignore_index)

    def loss(self,
             feats: Sequence[Tensor],
             data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, Tensor]:
        """AffinityNet loss of a batch.

        Args:
            feats (list[Tensor]): Three maps (B, C_i, h, w).
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            train_cfg (dict, optional): Unused.

        Returns:
            dict[str, Tensor]: ``loss_aff_bg``, ``loss_aff_fg``,
            ``loss_aff_neg`` (weighted) and the pair counts
            ``pairs_bg/fg/neg`` (logged only).
        """
        aff = self.affinities(feats)
        grid = self.label_grid(data_samples, feats[0].shape[-2:])
        bg_pos, fg_pos, neg = affinity_label_masks(grid, self.radius,
                                                   self.ignore_index)
        losses = self.loss_aff(aff, bg_pos, fg_pos, neg)
        for name, mask in (('bg', bg_pos), ('fg', fg_pos), ('neg', neg)):
            losses[f'pairs_{name}'] = mask.sum().float()
        return losses
