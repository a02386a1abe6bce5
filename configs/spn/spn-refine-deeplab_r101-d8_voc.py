# SPN iterative refinement, mmseg DeepLab option (methods.md §1.4): an mmseg
# DeepLabV3 (ResNet-101-D8) trained on SP-CAM pseudo masks of train_aug for
# `num_rounds` rounds. At the end of each round PseudoLabelHook labels
# train_aug with the current network (restricted to the image labels) and
# the next round trains on those labels [paper]. Stage 3 of
# tools/pipelines/spn.sh.
#   tools/dist_train.sh configs/spn/spn-refine-deeplab_r101-d8_voc.py 2 \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=\
#       $PWD/data/VOCdevkit/VOC2012/PseudoLabels/spn
_base_ = [
    '../_base_/datasets/voc_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
num_classes = 21
num_rounds = 2  # [ours] default; more rounds help [paper]
iters_per_round = 10000
max_iters = num_rounds * iters_per_round
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    # mmseg's EncoderDecoder training + BaseWeakSegmentor prediction, so
    # the hook's labels are restricted to the image labels
    type='WeakEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')),
    decode_head=dict(
        type='ASPPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    test_cfg=dict(scales=(1.0, ), flip=False, fusion='mean'))
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
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        split='train_aug',  # relabel the training images
        every_n_train_iters=iters_per_round,
        at_train_end=False,  # the last round's labels are not used
        update_train_dataset=True,
        generator_cfg=dict(use_img_labels=True))
]
