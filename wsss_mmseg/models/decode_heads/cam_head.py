"""Image classification head whose weights give class activation maps.

Zhou et al., "Learning Deep Features for Discriminative Localization",
CVPR 2016; PSA's variant (Dropout2d -> GAP -> 1x1 conv without bias, Xavier
init) in methods.md §2.2.
"""
from typing import Dict, Sequence, Union

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.cam import class_activation_map
from ..utils import get_img_labels

Features = Union[Tensor, Sequence[Tensor]]


@MODELS.register_module()
class CAMHead(BaseModule):
    """Dropout -> global average pooling -> 1x1 classifier (CAM head).

    ::

        feats[in_index] (B, K, h, w)
          ├─ forward: dropout -> GAP -> 1x1 conv -> logits (B, C_fg)
          │            └─ loss: MultiLabelBCELoss vs gt_img_labels[:, 1:]
          └─ cams:    ReLU(W f) (sqrt for VGG) -> (B, C_fg, h, w)

    The classifier has no background output: ``C_fg = num_classes - 1``
    where ``num_classes`` counts the dataset's classes *with* background
    (VOC 21, so 20 outputs), and the loss drops the background entry of
    ``gt_img_labels``. Since GAP and the 1x1 convolution commute, the logits
    equal the spatial mean of the (un-rectified) class maps plus the bias.

    Args:
        in_channels (int): Channels K of the selected feature map.
        num_classes (int): Dataset classes including background.
        in_index (int): Which backbone/neck output feeds the head.
            Default -1 (the last).
        dropout_ratio (float): ``Dropout2d`` before pooling (PSA: 0.5).
            Default 0.
        bias (bool): Bias of the classifier (PSA: False). Default False.
        classifier_init (str): 'xavier' (PSA: Xavier-uniform) or 'normal'
            (std 0.01). Default 'xavier'.
        cam_sqrt (bool): CAM = sqrt(ReLU(W f)), PSA's VGG-16 variant.
            Default False.
        loss_cls (dict): Config of the classification loss.
            Default ``dict(type='MultiLabelBCELoss')``.
        init_cfg (dict, optional): As in mmengine; overrides
            ``classifier_init`` when given.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 in_index: int = -1,
                 dropout_ratio: float = 0.0,
                 bias: bool = False,
                 classifier_init: str = 'xavier',
                 cam_sqrt: bool = False,
                 loss_cls: ConfigType = dict(type='MultiLabelBCELoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        if num_classes < 2:
            raise ValueError('CAMHead: num_classes counts background and '
                             f'must be >= 2, got {num_classes}')
        if init_cfg is None:
            if classifier_init == 'xavier':
                init_cfg = dict(
                    type='Xavier',
                    distribution='uniform',
                    layer='Conv2d',
                    override=dict(name='classifier'))
            elif classifier_init == 'normal':
                init_cfg = dict(
                    type='Normal',
                    std=0.01,
                    layer='Conv2d',
                    override=dict(name='classifier'))
            else:
                raise ValueError("CAMHead: classifier_init must be 'xavier' "
                                 f"or 'normal', got {classifier_init!r}")
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.num_fg_classes = num_classes - 1
        self.in_index = in_index
        self.cam_sqrt = cam_sqrt
        self.dropout = nn.Dropout2d(
            dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.classifier = nn.Conv2d(
            in_channels, self.num_fg_classes, kernel_size=1, bias=bias)
        self.loss_cls = MODELS.build(loss_cls)

    def _select(self, feats: Features) -> Tensor:
        """The feature map at ``in_index``: (B, K, h, w)."""
        if isinstance(feats, Tensor):
            feat = feats
        else:
            try:
                feat = feats[self.in_index]
            except IndexError:
                raise IndexError(
                    f'CAMHead: in_index={self.in_index} but the backbone/neck'
                    f' gives {len(feats)} feature maps') from None
        if feat.dim() != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'CAMHead: expected a (B, {self.in_channels}, h, w) feature '
                f'map (in_channels), got {tuple(feat.shape)}; check '
                'in_index / in_channels')
        return feat

    def forward(self, feats: Features) -> Tensor:
        """Image-level class logits.

        Args:
            feats (Tensor | list[Tensor]): Backbone/neck outputs, each
                (B, K_i, h_i, w_i).

        Returns:
            Tensor: (B, C_fg) logits.
        """
        x = self.dropout(self._select(feats))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.classifier(x).flatten(1)

    def cams(self, feats: Features) -> Tensor:
        """Class activation maps of all foreground classes.

        Args:
            feats (Tensor | list[Tensor]): Backbone/neck outputs.

        Returns:
            Tensor: (B, C_fg, h, w) non-negative CAMs (no dropout, no bias).
        """
        return class_activation_map(
            self._select(feats),
            self.classifier.weight,
            use_sqrt=self.cam_sqrt)

    def loss(self,
             feats: Features,
             data_samples: SampleList,
             train_cfg: OptConfigType = None) -> Dict[str, Tensor]:
        """Classification loss from the image-level labels.

        Args:
            feats (Tensor | list[Tensor]): Backbone/neck outputs.
            data_samples (list[SegDataSample]): Carry ``gt_img_labels``.
            train_cfg (dict, optional): Unused.

        Returns:
            dict[str, Tensor]: ``{loss_name: loss, 'acc_cls': accuracy}``.
        """
        return self.loss_by_feat(self.forward(feats), data_samples)

    def loss_by_feat(self, logits: Tensor,
                     data_samples: SampleList) -> Dict[str, Tensor]:
        """Loss of given logits.

        Args:
            logits (Tensor): (B, C_fg) logits.
            data_samples (list[SegDataSample]): Carry ``gt_img_labels``
                ((num_classes,), background at 0).

        Returns:
            dict[str, Tensor]: the loss (key ``loss_cls.loss_name``) and
            ``acc_cls``, the fraction of (image, class) decisions
            ``logit > 0`` that match the label (logged, not optimised).
        """
        labels = get_img_labels(data_samples, required=True)
        if labels.shape[1] != self.num_classes:
            raise ValueError(
                f'CAMHead: gt_img_labels have {labels.shape[1]} entries but '
                f'the head has num_classes={self.num_classes} (background '
                'included); dataset and model class counts differ')
        target = labels[:, 1:].to(logits)
        losses = {self.loss_cls.loss_name: self.loss_cls(logits, target)}
        with_sigmoid = getattr(self.loss_cls, 'use_sigmoid', True)
        thresh = 0.0 if with_sigmoid else 0.5
        losses['acc_cls'] = ((logits.detach() > thresh) == (target > 0.5)
                             ).float().mean()
        return losses
