# APC (Wu et al., 2024) on PASCAL VOC 2012 + SBD (train_aug, image labels):
# single-stage training, segmentation mIoU on val.
#   tools/dist_train.sh configs/apc/apc_vitb16_voc.py 2     # 2 x 8 = 16
#   tools/test.py configs/apc/apc_vitb16_voc.py CKPT [--cfg-options
#       model.test_cfg.crf=True]
# Sources of each value: configs/apc/README.md, methods.md §3.
_base_ = [
    '../_base_/models/apc_vitb16.py', '../_base_/datasets/voc_weak.py',
    '../_base_/default_runtime.py'
]

train_size = (384, 384)  # 24 x 24 patches [paper, code ViT-PCM]
test_size = (960, 960)  # 60 x 60 patches [paper, code ViT-PCM]
# one epoch of train_aug (10,582 images) at batch 16
iters_per_epoch = 662
num_epochs = 50  # [paper]

# ViT-PCM's augmentation [code]: square resize without keeping the aspect
# ratio, colour jitter always, grayscale p=0.1, h-flip, v-flip and transpose
# each p=0.5. Only the image is needed: the segmentation targets are made
# online from the patch predictions.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(type='Resize', scale=train_size, keep_ratio=False),
    # torchvision's jitter: mmcv's adjust_hue fails on negative hue shifts
    # with numpy 2 (np.uint8(-x) raises OverflowError)
    dict(type='mmpretrain.NumpyToPIL', to_rgb=True),
    dict(
        type='mmpretrain.torchvision/ColorJitter',
        brightness=0.2,
        contrast=(0.5, 2.0),
        saturation=(0.5, 1.5),
        hue=0.1),
    dict(type='mmpretrain.torchvision/RandomGrayscale', p=0.1),
    dict(type='mmpretrain.PILToNumpy', to_bgr=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(
        type='RandomApply',
        transforms=[
            dict(type='mmpretrain.Transpose', keys=['img'], order=(1, 0, 2))
        ],
        prob=0.5),
    dict(type='PackWeakSegInputs'),
]
# Inference at 960 x 960 without keeping the aspect ratio; predictions are
# resized back to the original image before evaluation.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=test_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
train_dataloader = dict(
    batch_size=8,  # per GPU; 2 GPUs -> 16 [paper]
    num_workers=4,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

model = dict(train_cfg=dict(seg_loss_warmup_iters=iters_per_epoch))

# Schedule (ViT-PCM code, used by APC): Adam; 1 epoch at lr 1e-3 with the
# ViT frozen (heads only), then lr 1e-4 with the last 5 ViT blocks and the
# final norm trained.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[iters_per_epoch],
        gamma=0.1)
]
custom_hooks = [
    dict(
        type='FreezeScheduleHook',
        module='backbone',
        unfreeze_iter=iters_per_epoch,
        num_unfrozen_layers=5,
        extra_unfrozen=('ln1', ))
]
# frozen ViT parameters get no gradient during the warm-up
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=num_epochs * iters_per_epoch,
    val_interval=5 * iters_per_epoch)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=5 * iters_per_epoch,
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
# checkpoints are chosen by the schedule, never by val ground truth
auto_scale_lr = dict(enable=False, base_batch_size=16)
