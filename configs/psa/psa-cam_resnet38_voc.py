# PSA stage 1: the ResNet-38 CAM network on PASCAL VOC 2012 + SBD train_aug
# (image labels), and stage 2: its confident regions.
#   tools/dist_train.sh configs/psa/psa-cam_resnet38_voc.py 2     # 2 x 8 = 16
#   python tools/make_pseudo_labels.py configs/psa/psa-cam_resnet38_voc.py \
#       CKPT --split train_aug --out-dir work_dirs/psa/confident_regions
#   (CAM-only masks: add --cfg-options pseudo_label_cfg.postprocess=
#    ArgmaxLabeler, --split train --eval for their mIoU)
# Or run every stage: tools/pipelines/psa.sh. Values: methods.md §2,
# configs/psa/README.md.
_base_ = [
    '../_base_/models/psa_resnet38_cam.py', '../_base_/datasets/voc_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (448, 448)
# 15 epochs of train_aug (10,582 images) at batch 16 [code]
iters_per_epoch = 662
max_iters = 15 * iters_per_epoch

# [code] long side uniform in [256, 512] (mmcv samples the long and the
# short edge bound independently in that range), h-flip, colour jitter
# (0.3, 0.3, 0.3, 0.1), random crop 448 (zero padding after normalisation by
# the data preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(
        type='RandomResize',
        scale=[(256, 256), (512, 512)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.NumpyToPIL', to_rgb=True),
    dict(
        type='mmpretrain.torchvision/ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    dict(type='mmpretrain.PILToNumpy', to_bgr=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWeakSegInputs'),
]
train_dataloader = dict(
    batch_size=8,  # per GPU; 2 GPUs -> 16 [code]
    num_workers=4,
    dataset=dict(pipeline=train_pipeline))
model = dict(data_preprocessor=dict(size=crop_size))

# Four parameter groups [code]: pretrained weights (lr, wd), pretrained
# biases (2 lr, wd 0), new weights (10 lr, wd), new biases (20 lr, wd 0);
# lr 0.01 for ResNet-38. The authors' PolyOptimizer passes the weight decay
# into SGD's momentum slot, so their effective momentum is 5e-4: set
# optimizer.momentum=0.0005 (psa-cam_resnet38_voc_authors-momentum.py) to
# reproduce it; 0.9 is our default.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            'decode_head.classifier.bias': dict(
                lr_mult=20.0, decay_mult=0.0),
        }))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=5 * iters_per_epoch,
        max_keep_ckpts=1))

# Stage 2: confident regions of train_aug, one PNG per image
# {0 bg, 1..20, 255 unsure}: dense CRF (10 iters, gaussian (3, 3),
# bilateral (80, 13, 10), un-normalised unary) of [M_bg^4; M_c] and
# [M_bg^32; M_c], M_bg = 1 - max_c M_c [code].
pseudo_label_cfg = dict(
    postprocess=dict(
        type='PSAConfidentRegionLabeler', low_alpha=4.0, high_alpha=32.0),
    crf=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
