# PSA stage 1-2 on the toy dataset (data/toy, 128x128, 5 shapes +
# background): a narrow ResNet-38 (same block layout, widths / 8-64, one
# block per stage) trained from scratch on CPU in about a minute; every part
# of psa-cam_resnet38_voc.py is active (dropout, bias-free classifier,
# weight / bias lr groups, multi-scale + flip CAM summation, la/ha confident
# regions).
# Used by the demo pipeline: tools/pipelines/psa.sh configs/psa WORK 1 toy
# From scratch, two backbone options (not the authors'; configs/psa/README.md
# "Toy pipeline" has the measurements): residual_scale (each residual branch
# starts at zero; without it the CAMs are blurred over the image: 18 -> 38
# mIoU) and stem_stride=4 (ResNet-style max-pool stem; the classifier learns
# faster: 38 -> 45 mIoU).
_base_ = [
    '../_base_/models/psa_resnet38_cam.py', '../_base_/datasets/toy_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy.py'
]
num_classes = 6
crop_size = (128, 128)
max_iters = 1000
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
        stem_stride=4,
        residual_scale=True,
        dropouts=(0.0, 0.0),
        # from scratch: BN must learn, nothing frozen, nothing downloaded
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    # Dropout2d(0.5) before pooling is meant for 4096 channels; on 64 it drops
    # half of the evidence at every step, so the toy uses 0.1 (and no block
    # dropout)
    decode_head=dict(
        in_channels=64, num_classes=num_classes, dropout_ratio=0.1))
# training pipeline: the toy base's (flip + photometric jitter, no crop)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # from scratch the 10x / 20x rates of the new layers (meant for an
    # ImageNet backbone) are dropped: one rate, as the toy CAM demo (lr 0.1)
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={
            'decode_head': dict(lr_mult=1.0),
            'decode_head.classifier.bias': dict(
                lr_mult=2.0, decay_mult=0.0),
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
# no validation while training (CPU budget): the CAM masks are evaluated on
# the train split by tools/make_pseudo_labels.py --eval, and tools/test.py
# still evaluates on val (test_dataloader)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1))
pseudo_label_cfg = dict(
    postprocess=dict(
        type='PSAConfidentRegionLabeler', low_alpha=4.0, high_alpha=32.0),
    crf=False)
randomness = dict(seed=0)
