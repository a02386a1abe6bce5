# SPN on the toy dataset (data/toy, 128 x 128): the same architecture with a
# thin VGG (widths 8..32, random init, nothing downloaded) and the paper's
# scale range mapped to the toy image size (250..500 of ~500 px ->
# 64..128). Stage 1 of `tools/pipelines/spn.sh configs/spn WORK 1 toy`.
#   python tools/dataset_converters/make_superpixels.py data/toy \
#       --config configs/spn/spn_vgg16-tiny_toy.py
#   tools/train.py configs/spn/spn_vgg16-tiny_toy.py
#   tools/make_pseudo_labels.py configs/spn/spn_vgg16-tiny_toy.py CKPT \
#       --split train --eval            # SP-CAM pseudo-mask mIoU
_base_ = [
    '../_base_/models/spn_vgg16.py', '../_base_/datasets/toy_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_toy.py'
]
num_classes = 6
max_iters = 1000
# toy superpixels: finer than the VOC setting for 128 x 128 images
# (about 60-100 per image) [ours]
superpixel_cfg = dict(
    algorithm='felzenszwalb',
    scale=30.0,
    sigma=0.5,
    min_size=15,
    out_dir='superpixels/felzenszwalb',
    format='png')
superpixel_dir = 'superpixels/felzenszwalb'
toy_scales = (64, 77, 90, 102, 115, 128)  # 250..500 x 128 / 500
tiny_vgg = [[8, 8], [16, 16], [32, 32, 32], [32, 32, 32], [32, 32, 32]]
model = dict(
    num_classes=num_classes,
    backbone=dict(
        arch=tiny_vgg,
        extra_conv_channels=32,
        # trained from scratch here (no tiny ImageNet VGG exists), so the
        # encoder is not frozen on the toy set and has BN (a plain 13-conv
        # VGG does not learn from scratch in a toy budget)
        frozen=False,
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=None),
    neck=dict(in_channels=32, channels=(32, 32, 32, 32), pool5_channels=32),
    decode_head=dict(
        in_channels=32, gap_in_channels=32, num_classes=num_classes - 1),
    train_cfg=dict(batch_sizes=toy_scales, flip_prob=0.5),
    test_cfg=dict(scales=[(s, s) for s in toy_scales]))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(type='LoadSuperpixels', superpixel_dir=superpixel_dir),
    dict(type='PackWeakSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadSuperpixels', superpixel_dir=superpixel_dir),
    dict(type='PackWeakSegInputs')
]
pseudo_label_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='LoadSuperpixels', superpixel_dir=superpixel_dir),
    dict(type='PackWeakSegInputs')
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
pseudo_label_dataloader = dict(dataset=dict(pipeline=pseudo_label_pipeline))
# lr: 0.05 and 0.1 (mean over classes) barely learned in 400 iterations
# (loss 6.6 / 1.30 = chance level), 0.01 did (5.9 at 400) [toy runs]
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=500,
                                              max_keep_ckpts=1))
