# PSA stages 3-4 on the toy dataset: AffinityNet on the narrow ResNet-38 of
# psa-cam_resnet38-tiny_toy.py, trained from scratch on the toy confident
# regions, random walk of the toy CAMs. Every part of
# psa-aff_resnet38_voc.py is active (three-level features, 34 offsets,
# three-term loss, sparse random walk with beta 8, 2^8 steps, bg alpha 16).
#   tools/pipelines/psa.sh configs/psa WORK 1 toy
_base_ = [
    '../_base_/models/psa_resnet38_aff.py', '../_base_/datasets/toy_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy.py'
]
num_classes = 6
crop_size = (128, 128)
max_iters = 2000
confident_region_dir = 'work_dirs/psa_toy/confident_regions'
tiny_arch = dict(
    _delete_=True,  # replaces the base's arch='a1'
    stem_channels=8,
    stage_channels=[(8, 8), (16, 16), (16, 16), (16, 32)],
    stage_blocks=[1, 1, 1, 1],
    bottleneck_channels=[32, 64])
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=tiny_arch,
        # the from-scratch options of the toy CAM network (see there)
        stem_stride=4,
        residual_scale=True,
        dropouts=(0.0, 0.0),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(
        in_channels=(16, 32, 64),
        num_classes=num_classes,
        proj_channels=(8, 16, 32)),
    cam_model='configs/psa/psa-cam_resnet38-tiny_toy.py',
    cam_checkpoint=None,
    # 16 walk steps instead of 256: the toy's stride-8 grid is 16 x 16
    # cells, the authors' 448 crops give 56 x 56, and the spread of a walk
    # grows with sqrt(steps), so 256 * (16 / 56)^2 ~ 21 steps cover the same
    # fraction of the image; 256 steps on 16 x 16 blur the classes over
    # object boundaries (configs/psa/README.md, "Toy pipeline")
    test_cfg=dict(rw_logt=4))
aff_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=16,
        contrast_range=(0.8, 1.2),
        saturation_range=(0.8, 1.2),
        hue_delta=6),
    dict(type='PackWeakSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        data_prefix=dict(seg_map_path=confident_region_dir),
        pipeline=aff_train_pipeline))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # from scratch the 10x / 20x rates of the new layers (meant for an
    # ImageNet backbone) are dropped: one rate, as the toy CAM demo (lr 0.1)
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={'decode_head': dict(lr_mult=1.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1))
pseudo_label_cfg = dict(postprocess='ArgmaxLabeler', crf=False)
randomness = dict(seed=0)
