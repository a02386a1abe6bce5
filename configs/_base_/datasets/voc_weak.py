# PASCAL VOC 2012 + SBD for weakly supervised segmentation (21 classes with
# background). Layout (docs/dataset_prepare.md):
#   data/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
#     SegmentationClassAug, ImageSets/Segmentation/{train_aug,train,val}.txt,
#     cls_labels.npy}
# train_aug (10,582 ids): training with image-level labels (cls_labels.npy).
# train (1,464) with labels and masks: pseudo-mask quality; val (1,449):
# segmentation mIoU. Children set their own train_pipeline/test_pipeline
# (method-specific sizes) and re-assign them to the dataloaders.
dataset_type = 'PascalVOCWeakDataset'
data_root = 'data/VOCdevkit/VOC2012'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(
        type='RandomResize',
        scale=(512, 512),
        ratio_range=(0.5, 1.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=(448, 448)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackWeakSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs')
]
# `tools/test.py --tta`: mmseg's SegTTAModel over scales x flips (the
# segmentors' own test_cfg.scales/flip is the alternative).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
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
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages'),
        img_labels='file',
        img_labels_file='cls_labels.npy',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        img_labels=None,  # evaluation: the model is not told the classes
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# The labelled training images with test-time transforms: pseudo labels
# (tools/make_pseudo_labels.py, PseudoLabelHook) and their mIoU.
# SegmentationClassAug holds masks for every train_aug, train and val id
# (tools/dataset_converters/voc_aug.py), so `--split train_aug` works too.
pseudo_label_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        img_labels='file',
        img_labels_file='cls_labels.npy',
        pipeline=pseudo_label_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
