"""Test kit of the pseudo-label tests: a tiny VOC-layout dataset and a tiny
BaseWeakSegmentor, importable by subprocesses (``custom_imports``).

Not a test module (no ``test_`` prefix); conftests of the pseudo-label test
folders put this folder on ``sys.path`` (tests must not import ``tests.``).
"""
import os
import os.path as osp
import time

import numpy as np
import torch
from PIL import Image

import wsss_mmseg  # noqa: F401
from wsss_mmseg.apis.label_io import voc_palette
from wsss_mmseg.models.segmentors.base_weak_segmentor import BaseWeakSegmentor
from wsss_mmseg.registry import MODELS, TRANSFORMS

CLASSES = ('background', 'red', 'green', 'blue')
# RGB colour of each object class (index 1..3); background is grey noise.
COLOURS = np.array([[110, 110, 110], [220, 30, 30], [30, 200, 40],
                    [40, 50, 220]], dtype=np.float32)


def make_tiny_voc(root: str, num_images: int = 6, size=(40, 48),
                  seed: int = 0) -> str:
    """Write a tiny VOC-layout dataset (PNG images, palette masks).

    Image ``i`` contains one or two coloured rectangles of classes 1..3 on a
    noisy grey background. Splits: ``train`` (all), ``val`` (first half),
    ``train_aug`` (all).

    Returns:
        str: ``root``.
    """
    rng = np.random.RandomState(seed)
    h, w = size
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    names = []
    for i in range(num_images):
        name = f'img_{i:03d}'
        names.append(name)
        img = COLOURS[0] + rng.randint(-25, 26, size=(h, w, 3))
        mask = np.zeros((h, w), dtype=np.uint8)
        classes = [1 + i % 3] + ([1 + (i + 1) % 3] if i % 2 else [])
        for k, c in enumerate(classes):
            y0, x0 = 4 + 14 * k, 4 + 16 * k
            y1, x1 = y0 + h // 3, x0 + w // 3
            img[y0:y1, x0:x1] = COLOURS[c] + rng.randint(
                -15, 16, size=(y1 - y0, x1 - x0, 3))
            mask[y0:y1, x0:x1] = c
        mask[0, :] = 255  # an ignore border row, like VOC's
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            osp.join(root, 'JPEGImages', name + '.png'))
        gt = Image.fromarray(mask, mode='P')
        gt.putpalette(voc_palette().ravel().tolist())
        gt.save(osp.join(root, 'SegmentationClass', name + '.png'))
    lists = dict(
        train=names, train_aug=names, val=names[:max(1, num_images // 2)])
    for split, items in lists.items():
        with open(osp.join(root, 'ImageSets/Segmentation', split + '.txt'),
                  'w') as f:
            f.write('\n'.join(items) + '\n')
    return root


def dataset_cfg(root: str, split: str = 'train', img_labels: bool = True,
                annotations: bool = True) -> dict:
    """Config of the tiny dataset (mmseg ``BaseSegDataset``)."""
    pipeline = [dict(type='LoadImageFromFile')]
    if annotations:
        pipeline.append(dict(type='LoadAnnotations'))
    if img_labels:
        pipeline.append(dict(type='PLTestImgLabelsFromMask'))
    pipeline.append(dict(type='PackWeakSegInputs'))
    return dict(
        type='BaseSegDataset',
        metainfo=dict(
            classes=CLASSES, palette=voc_palette()[:4].tolist()),
        data_root=root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file=f'ImageSets/Segmentation/{split}.txt',
        img_suffix='.png',
        seg_map_suffix='.png',
        test_mode=True,
        pipeline=pipeline)


def model_cfg(num_classes: int = 4, delay: float = 0.0, **test_cfg) -> dict:
    """Config of :class:`PLTestColourSegmentor`."""
    return dict(
        type='PLTestColourSegmentor',
        num_classes=num_classes,
        delay=delay,
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[0., 0., 0.],
            std=[255., 255., 255.],
            bgr_to_rgb=True,
            size_divisor=8,
            pad_val=0,
            seg_pad_val=255),
        test_cfg=test_cfg)


@TRANSFORMS.register_module(force=True)
class PLTestImgLabelsFromMask:
    """Test transform: ``img_labels`` (C,) multi-hot from ``gt_seg_map``."""

    def __init__(self, num_classes: int = len(CLASSES)) -> None:
        self.num_classes = num_classes

    def __call__(self, results: dict) -> dict:
        present = np.unique(results['gt_seg_map'])
        labels = np.zeros(self.num_classes, dtype=np.float32)
        labels[present[present < self.num_classes]] = 1
        labels[0] = 1
        results['img_labels'] = labels
        return results


@MODELS.register_module(force=True)
class PLTestColourSegmentor(BaseWeakSegmentor):
    """Scores = softmax of minus the colour distance to class prototypes.

    Good enough to give high (not perfect) pseudo-label mIoU on
    :func:`make_tiny_voc` images. ``delay`` sleeps per batch (to kill a run
    half way). One learnable scalar (``sharpness``) makes it trainable.
    """

    def __init__(self, num_classes: int = 4, delay: float = 0.0,
                 **kwargs) -> None:
        super().__init__(num_classes=num_classes, **kwargs)
        self.delay = delay
        protos = np.zeros((num_classes, 3), dtype=np.float32)
        protos[:min(num_classes, 4)] = COLOURS[:min(num_classes, 4)] / 255.
        self.register_buffer('protos', torch.from_numpy(protos))
        self.sharpness = torch.nn.Parameter(torch.tensor(20.))

    def extract_feat(self, inputs):
        return inputs

    def predict_scores(self, inputs, data_samples=None):
        if self.delay:
            time.sleep(self.delay)
        dist = (inputs[:, None] - self.protos[None, :, :, None, None]).pow(
            2).sum(2)
        return (-self.sharpness * dist).softmax(1)

    def loss(self, inputs, data_samples):
        scores = self.predict_scores(inputs)
        target = torch.stack(
            [ds.gt_img_labels for ds in data_samples]).to(scores)
        pooled = scores.amax((2, 3)).clamp(1e-4, 1 - 1e-4)
        return dict(
            loss_cls=torch.nn.functional.binary_cross_entropy(
                pooled, target))
