# SPN iterative refinement on the toy dataset, mmseg DeepLab option: a thin
# DeepLabV3 (ResNet-18, 16 base channels, from scratch) trained on the SP-CAM
# masks of spn_vgg16-tiny_toy.py for `num_rounds` rounds; the pseudo-label
# hook relabels train_aug (restricted to the image labels) between rounds
# and logs the labels' mIoU on it. Stage 3 of tools/pipelines/spn.sh (toy).
#   tools/train.py configs/spn/spn-refine-deeplab_r18-tiny_toy.py \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR
_base_ = [
    '../_base_/datasets/toy_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_toy.py'
]
num_classes = 6
num_rounds = 2
iters_per_round = 300
max_iters = num_rounds * iters_per_round
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='WeakEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(128, 128)),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        contract_dilation=True,
        init_cfg=None),
    decode_head=dict(
        type='ASPPHead',
        in_channels=128,
        in_index=1,
        channels=32,
        dilations=(1, 3, 6),
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=0,
        channels=16,
        num_convs=1,
        concat_input=False,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
    test_cfg=dict(scales=(1.0, ), flip=False, fusion='mean'))
train_dataloader = dict(batch_size=8)
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
        at_train_end=True,  # also label after the last round (its mIoU)
        update_train_dataset=True,
        generator_cfg=dict(use_img_labels=True, crf_workers=0))
]
