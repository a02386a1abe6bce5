# Toy weakly supervised dataset (data/toy, VOC layout, 128 x 128 images,
# 5 shape classes + background = 6 classes), made by
#   python tools/dataset_converters/make_toy_dataset.py --out-dir data/toy
# Splits: train_aug (480, image labels from cls_labels.npy) for training,
# train (120, subset of train_aug, labels + masks) for pseudo-label quality,
# val (120, masks) for segmentation mIoU. See docs/dataset_prepare.md.
dataset_type = 'PascalVOCWeakDataset'
data_root = 'data/toy'
toy_metainfo = dict(
    classes=('background', 'disc', 'block', 'triangle', 'ring', 'cross'),
    palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
             [128, 0, 128]])
# Training: image + image-level labels only (no mask is read). Images are
# already 128 x 128: flip and light photometric jitter, no crop or padding.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=16,
        contrast_range=(0.8, 1.2),
        saturation_range=(0.8, 1.2),
        hue_delta=6),
    dict(type='PackWeakSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs')
]
# The labelled train split: image labels *and* masks, test-time transforms.
# Used by tools/make_pseudo_labels.py and PseudoLabelHook (restricting the
# pseudo masks to the image's classes) and for pseudo-mask mIoU.
# `tools/test.py --tta`: mmseg's SegTTAModel over scales x flips (the
# segmentors' own test_cfg.scales/flip is the alternative).
img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackWeakSegInputs')]
        ])
]
pseudo_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='PackWeakSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=toy_metainfo,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages'),
        img_labels='file',
        img_labels_file='cls_labels.npy',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=toy_metainfo,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        img_labels=None,  # evaluation: the model is not told the classes
        pipeline=test_pipeline))
test_dataloader = val_dataloader
pseudo_label_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=toy_metainfo,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        img_labels='file',
        img_labels_file='cls_labels.npy',
        pipeline=pseudo_label_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
