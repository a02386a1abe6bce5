# PSA stage 5 on the toy dataset: mmseg's DeepLabV3+ (ResNet-18, from
# scratch, BN instead of SyncBN for CPU) trained on the random-walk pseudo
# masks of the toy train_aug, evaluated on the toy val ground truth.
#   MASKS=$PWD/work_dirs/psa_toy/rw_masks
#   tools/train.py configs/psa/psa-seg_deeplabv3plus-r18_toy.py \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$MASKS
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r18-d8_4xb4-80k_loveda-512x512.py'
]
# our scope (mmseg's types resolve through it), CPU-capable runner
default_scope = 'wsss_mmseg'
custom_imports = dict(imports=['wsss_mmseg'], allow_failed_imports=False)
runner_type = 'wsss_mmseg.DeviceAwareRunner'
data_root = 'data/toy'
pseudo_mask_dir = 'work_dirs/psa_toy/rw_masks'
crop_size = (128, 128)
max_iters = 300
metainfo = dict(
    classes=('background', 'disc', 'block', 'triangle', 'ring', 'cross'),
    palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
             [0, 0, 128], [128, 0, 128]])
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,  # from scratch: nothing is downloaded
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=6, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=6, norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(128, 128),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='BaseSegDataset',
        metainfo=metainfo,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_mask_dir),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='BaseSegDataset',
        metainfo=metainfo,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1))
randomness = dict(seed=0)
