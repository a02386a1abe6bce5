# MS-COCO 2014 for weakly supervised segmentation (80 classes + background
# = 81). Layout (docs/dataset_prepare.md; masks and lists made by
# tools/dataset_converters/coco2014.py):
#   data/coco2014/{train2014, val2014, SegmentationClass/{train2014,val2014},
#     ImageSets/{train,val}.txt, cls_labels.npy}
# train (~82k ids with an object): training with image-level labels and
# pseudo-mask quality; val (~40k): segmentation mIoU.
dataset_type = 'COCOWeakDataset'
data_root = 'data/coco2014'
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
        ann_file='ImageSets/train.txt',
        data_prefix=dict(img_path='train2014'),
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
        ann_file='ImageSets/val.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        img_labels=None,  # evaluation: the model is not told the classes
        pipeline=test_pipeline))
test_dataloader = val_dataloader
pseudo_label_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014'),
        img_labels='file',
        img_labels_file='cls_labels.npy',
        pipeline=pseudo_label_pipeline))
# COCO's image and mask folders differ per split: the pseudo-label tools
# (`--split NAME`) merge these into pseudo_label_dataloader.dataset.
pseudo_label_splits = dict(
    train=dict(
        ann_file='ImageSets/train.txt',
        data_prefix=dict(
            img_path='train2014',
            seg_map_path='SegmentationClass/train2014')),
    val=dict(
        ann_file='ImageSets/val.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014')))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
