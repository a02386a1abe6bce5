"""Classification head of SPN (Kwak et al., AAAI 2017, §3), methods.md §1.1.

Two branches share the image-level labels:

- top (SP) branch: superpixel pooling of the upsampled features ->
  mean over the superpixels of each image (each counts once) -> FC -> C;
- bottom (GAP) branch: global average pooling of the encoder feature ->
  FC -> C (helps convergence [paper]).

The loss is the sum of both multi-label logistic losses. At inference the
top-branch FC scores every superpixel (SP-CAM, :mod:`..ops.sp_cam`).
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.sp_cam import sp_class_scores
from ..ops.superpixel_pool import superpixel_mean, superpixel_pool


@MODELS.register_module()
class SuperpixelPoolingHead(BaseModule):
    """SP branch + GAP branch classifier with superpixel pooling.

    Args:
        in_channels (int): K, width of the upsampled feature map (paper:
            512).
        gap_in_channels (int): Width of the encoder feature for the GAP
            branch (paper: 512).
        num_classes (int): Foreground classes C (no background; VOC: 20).
        use_gap_branch (bool): Add the GAP branch and its loss (paper:
            True).
        loss_sp (dict): Loss of the SP branch; a multi-label BCE
            (:class:`MultiLabelBCELoss`) on logits.
        loss_gap (dict): Loss of the GAP branch.
        sum_over_classes (bool): Sum the per-class logistic losses and
            average over images (paper: "sum of C binary logistic losses",
            default True); False averages over classes as well.
        dropout_ratio (float): Dropout before both FCs [ours: 0].
        sp_cam_bias (bool): Add the FC bias to the per-superpixel SP-CAM
            scores [ours: True].
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 in_channels: int = 512,
                 gap_in_channels: int = 512,
                 num_classes: int = 20,
                 use_gap_branch: bool = True,
                 loss_sp: dict = dict(
                     type='MultiLabelBCELoss', loss_name='loss_sp'),
                 loss_gap: dict = dict(
                     type='MultiLabelBCELoss', loss_name='loss_gap'),
                 sum_over_classes: bool = True,
                 dropout_ratio: float = 0.0,
                 sp_cam_bias: bool = True,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', std=0.01, layer='Linear')) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.use_gap_branch = use_gap_branch
        self.sum_over_classes = sum_over_classes
        self.sp_cam_bias = sp_cam_bias
        self.fc_sp = nn.Linear(in_channels, num_classes)
        self.loss_sp = MODELS.build(loss_sp)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 \
            else nn.Identity()
        if use_gap_branch:
            self.fc_gap = nn.Linear(gap_in_channels, num_classes)
            self.loss_gap = MODELS.build(loss_gap)

    def pool(self, feats: Tensor, ids: Tensor,
             num_segments: int) -> Tuple[Tensor, Tensor]:
        """Superpixel pooling (see :func:`superpixel_pool`).

        Args:
            feats (Tensor): (B, K, h, w) upsampled features.
            ids (Tensor): (B, H, W) batch-global ids, -1 = none.
            num_segments (int): M.

        Returns:
            tuple: pooled (M, K) and area (M,).
        """
        return superpixel_pool(feats, ids, num_segments)

    def forward(self, feats: Tensor, enc_feat: Tensor, ids: Tensor,
                batch_idx: Tensor,
                num_segments: int) -> Tuple[Tensor, Optional[Tensor]]:
        """Image-level logits of both branches.

        Args:
            feats (Tensor): (B, K, h, w) upsampled features.
            enc_feat (Tensor): (B, C_z, h', w') encoder feature.
            ids (Tensor): (B, H, W) batch-global superpixel ids.
            batch_idx (Tensor): (M,) image of each superpixel.
            num_segments (int): M.

        Returns:
            tuple: SP logits (B, C) and GAP logits (B, C) (None without
            the GAP branch).
        """
        pooled, area = self.pool(feats, ids, num_segments)
        image_vec = superpixel_mean(pooled, batch_idx, feats.shape[0],
                                    valid=area > 0)
        sp_logits = self.fc_sp(self.dropout(image_vec))
        gap_logits = None
        if self.use_gap_branch:
            gap_logits = self.fc_gap(self.dropout(enc_feat.mean((2, 3))))
        return sp_logits, gap_logits

    def loss_by_logits(self, sp_logits: Tensor, gap_logits: Optional[Tensor],
                       labels: Tensor) -> Dict[str, Tensor]:
        """Both multi-label losses.

        Args:
            sp_logits (Tensor): (B, C).
            gap_logits (Tensor | None): (B, C).
            labels (Tensor): (B, C) foreground multi-hot.

        Returns:
            dict[str, Tensor]: keyed by the losses' ``loss_name``.
        """
        if labels.shape != sp_logits.shape:
            raise ValueError(
                f'SuperpixelPoolingHead: labels {tuple(labels.shape)} vs '
                f'logits {tuple(sp_logits.shape)}; num_classes of the head '
                'must be the dataset classes without background')
        avg = labels.shape[0] if self.sum_over_classes else None
        losses = {self.loss_sp.loss_name:
                  self.loss_sp(sp_logits, labels, avg_factor=avg)}
        if gap_logits is not None:
            losses[self.loss_gap.loss_name] = self.loss_gap(
                gap_logits, labels, avg_factor=avg)
        return losses

    def superpixel_scores(self, pooled: Tensor) -> Tensor:
        """SP-CAM scores of every superpixel with the top-branch FC.

        Args:
            pooled (Tensor): (M, K) superpixel features.

        Returns:
            Tensor: (M, C).
        """
        bias = self.fc_sp.bias if self.sp_cam_bias else None
        return sp_class_scores(pooled, self.fc_sp.weight, bias)
