"""AffinityNet segmentor of PSA (Ahn & Kwak, "Learning Pixel-level Semantic
Affinity with Image-level Supervision", CVPR 2018; methods.md §2.4-§2.6).
"""
import copy
import os.path as osp
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import print_log
from mmseg.utils import (ConfigType, OptConfigType, OptMultiConfig,
                         OptSampleList, SampleList)
from torch import Tensor

from wsss_mmseg.registry import MODELS
from ..ops.cam import power_background
from ..ops.random_walk import random_walk
from .base_weak_segmentor import BaseWeakSegmentor


def _resolve_config_path(path: str) -> str:
    """A CAM config path: absolute, relative to the working directory, or
    relative to the repository / installed package (``configs/...``)."""
    if osp.isfile(path):
        return path
    import wsss_mmseg
    pkg = osp.dirname(osp.abspath(wsss_mmseg.__file__))
    for root in (osp.dirname(pkg), osp.join(pkg, '.mim')):
        candidate = osp.join(root, path)
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(
        f'AffinitySegmentor: CAM config {path!r} (model.cam_model) not found '
        'in the working directory, the repository or the installed package')


@MODELS.register_module()
class AffinitySegmentor(BaseWeakSegmentor):
    """AffinityNet: trained on confident regions, predicts by random walk.

    ::

        loss(inputs, data_samples)             # (image, confident-region PNG
         └─ backbone -> AffinityHead.loss      #  as gt_sem_seg) pairs
             └─ affinities vs pair labels -> AffinityLoss

        predict(inputs, data_samples)
         └─ predict_scores
             ├─ cam_model.predict_cams          # CAM network of stage 1 with
             │                                  # its own test_cfg (PSA: scales
             │                                  # 1, .5, 1.5, 2 + flip, summed,
             │                                  # max-normalised, labels)
             ├─ [ (1 - max_c M_c)^rw_bg_alpha ; M_c ]        (B, C, H, W)
             ├─ zero-pad to a multiple of 8, 8x8 average pool -> grid
             ├─ backbone -> AffinityHead.affinities on the padded image
             ├─ random_walk (sparse, beta, 2^logt steps)
             └─ bilinear upsample, crop
         └─ postprocess_scores                  # unpad, resize, labels, CRF,
                                                # argmax -> pred_sem_seg

    The CAM network is *not* a submodule: its weights come from
    ``cam_checkpoint`` (loaded on the first prediction), so AffinityNet
    checkpoints hold only AffinityNet. Random-walk inference is single-scale
    as in the authors' code; multi-scale belongs to the CAM network.

    ``test_cfg`` keys (besides :class:`BaseWeakSegmentor`'s ``crf``,
    ``crf_workers``, ``use_img_labels``):

    - ``rw_beta`` (float): affinity exponent. Default 8.
    - ``rw_logt`` (int): log2 of the number of walk steps. Default 8.
    - ``rw_bg_alpha`` (float): background exponent of the walk input.
      Default 16 [code].
    - ``rw_method`` (str): how ``T^t`` is applied, see
      :func:`~wsss_mmseg.models.ops.random_walk`: 'chebyshev' (default),
      'stencil' (t products) or 'csr'.

    Args:
        backbone (dict): ResNet38d / VGG16LargeFOV with three outputs.
        decode_head (dict): :class:`AffinityHead`; its ``num_classes`` is the
            model's (with background).
        cam_model (dict | str, optional): The CAM network: a model config,
            or the path of the stage-1 config whose ``model`` is used. Only
            needed for prediction.
        cam_checkpoint (str, optional): Weights of the CAM network. None
            leaves it randomly initialised (tests only).
        train_cfg, test_cfg (dict, optional): See above.
        data_preprocessor (dict, optional): As in mmseg; must normalise as
            the CAM network's did.
        init_cfg (dict, optional): As in mmengine.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 cam_model: Optional[Union[ConfigType, str]] = None,
                 cam_checkpoint: Optional[str] = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if 'num_classes' not in decode_head:
            raise KeyError('AffinitySegmentor: model.decode_head.num_classes'
                           ' (classes with background) is required')
        super().__init__(
            num_classes=decode_head['num_classes'],
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.cam_model_cfg = self._cam_model_cfg(cam_model)
        self.cam_checkpoint = cam_checkpoint
        # kept out of the module tree: not trained, not in checkpoints
        self._cam = {}

    def _cam_model_cfg(self, cam_model) -> Optional[Dict]:
        """The CAM network's model config, class count checked."""
        if cam_model is None:
            return None
        if isinstance(cam_model, str):
            cfg = Config.fromfile(_resolve_config_path(cam_model))
            cam_model = cfg.model
        cam_model = copy.deepcopy(dict(cam_model))
        cam_model.pop('data_preprocessor', None)
        head = cam_model.get('decode_head', {})
        cam_classes = head.get('num_classes')
        if cam_classes is not None and cam_classes != self.num_classes:
            raise ValueError(
                f'AffinitySegmentor: the CAM network (model.cam_model) has '
                f'num_classes={cam_classes}, AffinityNet '
                f'(model.decode_head.num_classes) has {self.num_classes}')
        return cam_model

    @property
    def cam_model(self):
        """The CAM network (built and loaded on first use, eval mode)."""
        if 'model' not in self._cam:
            if self.cam_model_cfg is None:
                raise ValueError('AffinitySegmentor: prediction needs the CAM'
                                 ' network; set model.cam_model (config) and '
                                 'model.cam_checkpoint')
            model = MODELS.build(self.cam_model_cfg)
            if self.cam_checkpoint is not None:
                self._load_cam_checkpoint(model, self.cam_checkpoint)
            else:
                print_log(
                    'AffinitySegmentor: model.cam_checkpoint is None, the CAM '
                    'network is randomly initialised', level=30)
            model.eval()
            for param in model.parameters():
                param.requires_grad = False
            self._cam['model'] = model
        return self._cam['model']

    def _load_cam_checkpoint(self, model, filename: str) -> None:
        if not osp.isfile(filename):
            raise FileNotFoundError(
                f'AffinitySegmentor: CAM checkpoint {filename} '
                '(model.cam_checkpoint) does not exist; train the CAM stage '
                'first')
        ckpt = torch.load(filename, map_location='cpu', weights_only=False)
        state = ckpt.get('state_dict', ckpt)
        weight = state.get('decode_head.classifier.weight')
        if weight is not None and weight.shape[0] + 1 != self.num_classes:
            raise ValueError(
                f'AffinitySegmentor: CAM checkpoint {filename} has '
                f'{weight.shape[0]} foreground classes (+ background = '
                f'{weight.shape[0] + 1}), AffinityNet has num_classes='
                f'{self.num_classes}')
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if 'num_batches_tracked' not in k]
        if missing or unexpected:
            raise KeyError(
                f'AffinitySegmentor: CAM checkpoint {filename} does not fit '
                f'the CAM config: missing {missing[:5]}, unexpected '
                f'{unexpected[:5]}')

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """The three backbone levels, each (B, C_i, H/8, W/8)."""
        return tuple(self.backbone(inputs))

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """AffinityNet loss.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised crops.
            data_samples (list[SegDataSample]): ``gt_sem_seg`` holds the
                confident regions {0 bg, 1..C-1, 255 unsure}.

        Returns:
            dict[str, Tensor]: ``loss_aff_bg/fg/neg`` and pair counts.
        """
        return self.decode_head.loss(
            self.extract_feat(inputs), data_samples, self.train_cfg)

    def affinities(self, inputs: Tensor) -> Tensor:
        """Pair affinities of an image batch: (B, K, Hs, Ws) on the grid."""
        return self.decode_head.affinities(self.extract_feat(inputs))

    def walk_inputs(self, inputs: Tensor,
                    data_samples: OptSampleList = None) -> Tensor:
        """``[(1 - max_c M_c)^alpha; M_c]`` from the CAM network.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            Tensor: (B, num_classes, H, W) scores.
        """
        cam_model = self.cam_model
        device = inputs.device
        if next(cam_model.parameters()).device != device:
            cam_model.to(device)
        with torch.no_grad():
            cams = cam_model.predict_cams(inputs, data_samples)
        if cams.shape[1] + 1 != self.num_classes:
            raise ValueError(
                f'AffinitySegmentor: the CAM network gave {cams.shape[1]} '
                f'class maps, expected {self.num_classes - 1}')
        bg = power_background(cams, self.test_cfg.get('rw_bg_alpha', 16.0))
        return torch.cat([bg, cams], dim=1)

    def propagate(self, inputs: Tensor, scores: Tensor) -> Tensor:
        """Random walk of ``scores`` with the affinities of ``inputs``.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            scores (Tensor): (B, C, H, W) class scores.

        Returns:
            Tensor: (B, C, H, W) propagated scores.
        """
        stride = self.decode_head.stride
        height, width = inputs.shape[-2:]
        pad_h, pad_w = (-height) % stride, (-width) % stride
        inputs = F.pad(inputs, (0, pad_w, 0, pad_h))
        scores = F.pad(scores, (0, pad_w, 0, pad_h))
        aff = self.affinities(inputs)
        grid = F.avg_pool2d(scores, stride, stride)
        walked = random_walk(
            grid,
            aff,
            beta=self.test_cfg.get('rw_beta', 8.0),
            logt=self.test_cfg.get('rw_logt', 8),
            radius=self.decode_head.radius,
            method=self.test_cfg.get('rw_method', 'chebyshev'))
        walked = F.interpolate(
            walked,
            size=inputs.shape[-2:],
            mode='bilinear',
            align_corners=False)
        return walked[..., :height, :width]

    def predict_scores(self,
                       inputs: Tensor,
                       data_samples: OptSampleList = None) -> Tensor:
        """Random-walk scores of a batch.

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            Tensor: (B, num_classes, H, W) non-negative scores.
        """
        return self.propagate(inputs, self.walk_inputs(inputs, data_samples))

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Random-walk pseudo masks of a batch (single scale).

        Args:
            inputs (Tensor): (B, 3, H, W) normalised images.
            data_samples (list[SegDataSample], optional): The batch.

        Returns:
            list[SegDataSample]: ``seg_logits`` ((C, H0, W0)) and
            ``pred_sem_seg`` ((1, H0, W0)).
        """
        return self.postprocess_scores(
            self.predict_scores(inputs, data_samples), data_samples)
