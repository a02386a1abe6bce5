"""Shared prediction path of the segmentors trained from image-level labels."""
from abc import abstractmethod
from typing import List, Optional

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.utils import OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from ..ops import DEFAULT_CRF_PARAMS, dense_crf_batch, multi_scale_flip
from ..utils import get_img_labels


class BaseWeakSegmentor(BaseSegmentor):
    """Base of every wsss_mmseg segmentor (CAM, SPN, AffinityNet, APC).

    A subclass implements :meth:`loss`, :meth:`extract_feat` and
    :meth:`predict_scores`; prediction is shared::

        predict(inputs, data_samples)
         └─ multi_scale_flip(predict_scores)     # test_cfg scales / flip
             └─ postprocess_scores               # unpad, unflip, resize to
                 ├─ restrict to image labels     #   ori_shape; labels known
                 ├─ dense CRF (optional)         #   -> absent classes = 0
                 └─ argmax -> pred_sem_seg, scores -> seg_logits

    ``predict_scores`` returns **non-negative class scores** over the
    dataset's classes, background at index 0 (probabilities, normalised
    CAMs, ...), so that restricting to the image labels is a product and the
    CRF can take the scores as its unary.

    ``test_cfg`` keys (all optional):

    - ``scales`` (list): floats (relative) or (h, w) pairs. Default (1.0,).
    - ``flip`` (bool): add horizontal flips. Default False.
    - ``fusion`` (str): 'sum', 'mean' or 'max'. Default 'mean'.
    - ``use_img_labels`` (bool): zero the classes absent from
      ``gt_img_labels`` when a sample carries them (train-split pseudo
      masks). Default True.
    - ``crf`` (bool | dict): dense CRF on the final scores; True uses
      :data:`DEFAULT_CRF_PARAMS`, a dict overrides them. Default False.
    - ``crf_workers`` (int): CRF process pool size (0 = in process).

    Args:
        num_classes (int): Classes including background.
        train_cfg, test_cfg (dict, optional): As in mmseg.
        data_preprocessor (dict, optional): As in mmseg.
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 num_classes: int,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})
        self.align_corners = False
        # stock mmseg tools (visualisation, inferencer) read these
        self.out_channels = num_classes

    @abstractmethod
    def predict_scores(self, inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Class scores of a batch at one scale.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            Tensor: (B, num_classes, h, w) non-negative scores, background at
            channel 0; any resolution (resized by the caller).
        """

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Scores of a batch at one scale (mmseg's API name)."""
        return self.predict_scores(inputs)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Network forward without post-processing: (B, C, h, w) scores."""
        return self.predict_scores(inputs, data_samples)

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Segment a batch.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            list[SegDataSample]: with ``seg_logits`` ((C, H0, W0) scores at
            the original size) and ``pred_sem_seg`` ((1, H0, W0)).
        """
        cfg = self.test_cfg
        scores = multi_scale_flip(
            lambda x: self.predict_scores(x, data_samples),
            inputs,
            scales=cfg.get('scales', (1.0, )),
            flip=cfg.get('flip', False),
            fusion=cfg.get('fusion', 'mean'),
            align_corners=self.align_corners)
        return self.postprocess_scores(scores, data_samples)

    def postprocess_scores(self, scores: Tensor,
                           data_samples: OptSampleList) -> SampleList:
        """Turn batch scores into per-image predictions.

        Args:
            scores (Tensor): (B, C, H, W) non-negative scores on the padded
                input grid.
            data_samples (list[SegDataSample] | None): The batch.

        Returns:
            list[SegDataSample]: see :meth:`predict`.
        """
        from mmseg.structures import SegDataSample
        if scores.shape[1] != self.num_classes:
            raise ValueError(f'{type(self).__name__}: predict_scores gave '
                             f'{scores.shape[1]} channels, the model has '
                             f'num_classes={self.num_classes}')
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(len(scores))]
        per_image = [
            self._to_original_frame(scores[i:i + 1], ds.metainfo)[0]
            for i, ds in enumerate(data_samples)
        ]
        labels = None
        if self.test_cfg.get('use_img_labels', True):
            labels = get_img_labels(data_samples)
        if labels is not None:
            if labels.shape[1] != self.num_classes:
                raise ValueError(
                    f'image labels have {labels.shape[1]} classes but the '
                    f'model predicts {self.num_classes}: dataset and model '
                    'class counts differ')
            per_image = [
                s * lab.to(s)[:, None, None]
                for s, lab in zip(per_image, labels)
            ]
        crf = self.test_cfg.get('crf', False)
        if crf:
            per_image = self._apply_crf(per_image, data_samples, crf)
        for ds, s in zip(data_samples, per_image):
            ds.set_data({
                'seg_logits': PixelData(data=s),
                'pred_sem_seg': PixelData(data=s.argmax(0, keepdim=True))
            })
        return data_samples

    def _to_original_frame(self, scores: Tensor, meta: dict) -> Tensor:
        """Remove batch padding, undo the flip and resize to ``ori_shape``.

        Args:
            scores (Tensor): (1, C, H, W) on the padded input grid.
            meta (dict): The sample's metainfo.

        Returns:
            Tensor: (1, C, H0, W0).
        """
        if not meta:
            return scores
        height, width = scores.shape[-2:]
        left, right, top, bottom = meta.get(
            'img_padding_size', meta.get('padding_size', [0, 0, 0, 0]))
        scores = scores[..., top:height - bottom, left:width - right]
        if meta.get('flip', False):
            axis = 3 if meta.get('flip_direction') == 'horizontal' else 2
            scores = scores.flip(axis)
        if 'ori_shape' in meta and tuple(scores.shape[-2:]) != tuple(
                meta['ori_shape'][:2]):
            scores = F.interpolate(
                scores,
                size=tuple(meta['ori_shape'][:2]),
                mode='bilinear',
                align_corners=self.align_corners)
        return scores

    def _apply_crf(self, scores: List[Tensor], data_samples: SampleList,
                   crf) -> List[Tensor]:
        """Dense CRF on each image's scores (CPU process pool)."""
        params = dict(DEFAULT_CRF_PARAMS)
        if isinstance(crf, dict):
            params.update(crf)
        images = []
        for ds, s in zip(data_samples, scores):
            path = ds.metainfo.get('img_path')
            if path is None:
                raise ValueError('test_cfg.crf needs the original image, but '
                                 'the data sample has no img_path')
            img = mmcv.imread(path, channel_order='rgb')
            if img.shape[:2] != tuple(s.shape[-2:]):
                img = mmcv.imresize(img, (s.shape[-1], s.shape[-2]))
            images.append(np.ascontiguousarray(img))
        arrays = [s.detach().float().cpu().numpy() for s in scores]
        out = dense_crf_batch(
            images,
            arrays,
            num_workers=self.test_cfg.get('crf_workers', 0),
            **params)
        return [torch.from_numpy(o).to(s) for o, s in zip(out, scores)]
