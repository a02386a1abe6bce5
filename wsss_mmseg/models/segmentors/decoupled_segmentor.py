"""DecoupledNet-style refinement network (Hong et al., NeurIPS 2015) for SPN's
iterative refinement (Kwak et al., AAAI 2017; methods.md §1.4)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..utils import get_img_labels
from .base_weak_segmentor import BaseWeakSegmentor


@MODELS.register_module()
class DecoupledSegmentor(BaseWeakSegmentor):
    """Figure-ground segmentation of one present class at a time.

    ::

        loss(inputs, data_samples)
         ├─ encoder (VGG16Switches, trainable) -> z, switches
         ├─ one class per image, drawn uniformly among the foreground
         │    classes of its (pseudo) mask, else of its image labels [code:
         │    one sampled present class]
         ├─ DecoupledHead(z, switches | image, class) -> (B, 2, H, W)
         ├─ CE against the binary target (mask == class; 255 kept ignored)
         └─ + multi-label BCE of the image classifier (optional)

        predict_scores(inputs, data_samples)
         ├─ classes: gt_img_labels when present, else classifier
         │    sigmoid > test_cfg.cls_threshold (at least the top class)
         ├─ all (image, class) pairs in one decoder batch (no class loop)
         └─ scores: fg channel c = P(fg | c); background = 1 - max_c P

    ``test_cfg`` keys: those of :class:`BaseWeakSegmentor` and
    ``cls_threshold`` (default 0.5).

    Args:
        backbone (dict): :class:`VGG16Switches` (``frozen=False``,
            ``extra_conv_channels=None`` for DecoupledNet).
        decode_head (dict): :class:`DecoupledHead`, ``num_classes`` =
            ``num_classes - 1``.
        num_classes (int): Classes including background.
        train_cfg, test_cfg, data_preprocessor, init_cfg: As in mmseg.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 num_classes: int,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            num_classes=num_classes,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        if self.decode_head.num_classes != num_classes - 1:
            raise ValueError(
                f'DecoupledSegmentor: decode_head.num_classes '
                f'({self.decode_head.num_classes}) must be num_classes - 1 '
                f'({num_classes - 1})')

    def extract_feat(self, inputs: Tensor) -> Tuple:
        """``(z, switches)`` of the encoder."""
        return self.backbone(inputs)

    @staticmethod
    def sample_classes(candidates: Tensor,
                       generator: torch.Generator = None) -> Tensor:
        """One class per row, uniformly among the non-zero entries.

        Args:
            candidates (Tensor): (B, C) 0/1 foreground classes per image.

        Returns:
            Tensor: (B,) int64 class indices; rows without candidates draw
            uniformly among all C classes (their target is all background).
        """
        weights = candidates.float()
        empty = weights.sum(1, keepdim=True) == 0
        weights = torch.where(empty, torch.ones_like(weights), weights)
        return torch.multinomial(weights, 1, generator=generator)[:, 0]

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Figure-ground CE for one sampled class per image (+ cls loss).

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample]): with ``gt_sem_seg`` (the
                pseudo masks) and optionally ``gt_img_labels``.

        Returns:
            dict[str, Tensor]: ``loss_fg`` (+ ``loss_cls``).
        """
        head = self.decode_head
        fg = self.num_classes - 1
        gt = torch.stack([ds.gt_sem_seg.data[0] for ds in data_samples])
        gt = gt.to(inputs.device).long()
        # classes present in each mask: one bincount over the batch
        valid = (gt > 0) & (gt <= fg)
        flat = (gt - 1).clamp(0, fg - 1) + fg * torch.arange(
            len(gt), device=gt.device).view(-1, 1, 1)
        in_mask = torch.bincount(flat[valid], minlength=len(gt) * fg).view(
            len(gt), fg) > 0
        labels = get_img_labels(data_samples)
        candidates = in_mask
        if labels is not None:
            labels = labels[:, 1:].to(gt.device) > 0
            no_fg = ~in_mask.any(1, keepdim=True)
            candidates = torch.where(no_fg, labels, in_mask)
        cls = self.sample_classes(candidates)
        z, switches = self.extract_feat(inputs)
        image_idx = torch.arange(len(gt), device=gt.device)
        logits = head(
            (z, switches), image_idx, cls)
        target = (gt == (cls + 1).view(-1, 1, 1)).long()
        target = torch.where(gt == 255, torch.full_like(target, 255), target)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = F.interpolate(logits, size=target.shape[-2:],
                                   mode='bilinear', align_corners=False)
        losses = {head.loss_seg.loss_name: head.loss_seg(
            logits, target, ignore_index=255)}
        if head.use_cls_branch:
            cls_target = labels if labels is not None else in_mask
            losses[head.loss_cls.loss_name] = head.loss_cls(
                head.classify(z), cls_target.float())
        return losses

    def predict_scores(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Per-class figure-ground probabilities combined into class scores.

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            Tensor: (B, num_classes, H, W); channel c >= 1 is P(fg | c) for
            the evaluated classes (0 for the others), channel 0 is
            ``1 - max_c P(fg | c)``.
        """
        head = self.decode_head
        z, switches = self.extract_feat(inputs)
        labels = get_img_labels(data_samples)
        if labels is not None:
            present = labels[:, 1:].to(inputs.device) > 0
        elif head.use_cls_branch:
            prob = head.classify(z).sigmoid()
            present = prob > self.test_cfg.get('cls_threshold', 0.5)
            top = F.one_hot(prob.argmax(1), prob.shape[1]).bool()
            present = present | top
        else:
            present = torch.ones(len(inputs), self.num_classes - 1,
                                 dtype=torch.bool, device=inputs.device)
        image_idx, class_idx = present.nonzero(as_tuple=True)
        batch, _, height, width = inputs.shape
        scores = inputs.new_zeros(batch, self.num_classes, height, width)
        if len(image_idx):
            fg = head((z, switches), image_idx, class_idx).softmax(1)[:, 1]
            if fg.shape[-2:] != (height, width):
                fg = F.interpolate(fg[:, None], size=(height, width),
                                   mode='bilinear', align_corners=False)[:, 0]
            scores[image_idx, class_idx + 1] = fg
        scores[:, 0] = 1 - scores[:, 1:].amax(1)
        return scores
