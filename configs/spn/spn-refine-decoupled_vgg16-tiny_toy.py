# SPN iterative refinement on the toy dataset, DecoupledNet-style option:
# thin VGG encoder (from scratch) + unpooling figure-ground decoder, trained
# on the SP-CAM masks of spn_vgg16-tiny_toy.py for `num_rounds` rounds.
#   tools/train.py configs/spn/spn-refine-decoupled_vgg16-tiny_toy.py \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR
_base_ = [
    '../_base_/datasets/toy_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_toy.py'
]
num_classes = 6
num_rounds = 2
iters_per_round = 300
max_iters = num_rounds * iters_per_round
tiny_vgg = [[8, 8], [16, 16], [32, 32, 32], [32, 32, 32], [32, 32, 32]]
model = dict(
    type='DecoupledSegmentor',
    num_classes=num_classes,
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(128, 128)),
    backbone=dict(
        type='VGG16Switches',
        arch=tiny_vgg,
        extra_conv_channels=None,
        frozen=False,
        norm_cfg=dict(type='BN', requires_grad=True),  # from scratch
        init_cfg=None),
    decode_head=dict(
        type='DecoupledHead',
        in_channels=32,
        num_classes=num_classes - 1,
        bridge_channels=32,
        # DecoupledNet's decoder pattern at the thin widths
        decoder_channels=((32, 32, 32), (32, 32, 32), (32, 32, 16),
                          (16, 8), (8, 8))),
    test_cfg=dict(scales=(1.0, ), flip=False, fusion='mean'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWeakSegInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
# one poly decay over all rounds [ours]: mmengine's schedulers are chained
# (each scales the current lr), so a per-round restart would need a
# restart-capable scheduler; the network keeps its weights across rounds
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=iters_per_round)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=iters_per_round, max_keep_ckpts=1))
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        split='train_aug',
        every_n_train_iters=iters_per_round,
        at_train_end=True,
        update_train_dataset=True,
        generator_cfg=dict(use_img_labels=True, crf_workers=0))
]
