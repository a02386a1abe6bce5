# SPN iterative refinement, DecoupledNet-style option (methods.md §1.4): a
# VGG-16 encoder with switches and DecoupledNet's unpooling decoder
# segmenting one present class at a time (figure-ground), trained on SP-CAM
# pseudo masks; rounds as in spn-refine-deeplab_r101-d8_voc.py. DecoupledNet
# facts [code]: 320 x 320 crops of 350 x 350 images, decoder widths
# 512,512,512 | 512,512,256 | 256,256,128 | 128,64 | 64,64, SGD lr 0.01,
# momentum 0.9, weight decay 5e-4. The class conditioning is a learned FiLM
# [ours] (DecoupledNet's bridging layers use classification-network
# activations).
_base_ = [
    '../_base_/datasets/voc_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
num_classes = 21
num_rounds = 2
iters_per_round = 10000
max_iters = num_rounds * iters_per_round
vgg16_checkpoint = 'https://download.pytorch.org/models/vgg16-397923af.pth'
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
        size=(320, 320)),
    backbone=dict(
        type='VGG16Switches',
        arch='vgg16',
        extra_conv_channels=None,  # pool5 feeds the bridge
        frozen=False,  # fine-tuned in DecoupledNet [code]
        init_cfg=dict(type='Pretrained', checkpoint=vgg16_checkpoint)),
    decode_head=dict(
        type='DecoupledHead',
        in_channels=512,
        num_classes=num_classes - 1,
        bridge_channels=512,
        decoder_channels=((512, 512, 512), (512, 512, 256), (256, 256, 128),
                          (128, 64), (64, 64)),
        use_cls_branch=True,
        loss_seg=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            loss_name='loss_fg'),
        loss_cls=dict(type='MultiLabelBCELoss', loss_name='loss_cls')),
    test_cfg=dict(scales=(1.0, ), flip=False, fusion='mean',
                  cls_threshold=0.5))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='Resize', scale=(350, 350), keep_ratio=False),  # [code]
    dict(type='RandomCrop', crop_size=(320, 320)),  # [code]
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWeakSegInputs')
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
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
custom_hooks = [
    dict(
        type='PseudoLabelHook',
        split='train_aug',
        every_n_train_iters=iters_per_round,
        at_train_end=False,
        update_train_dataset=True,
        generator_cfg=dict(use_img_labels=True))
]
