# PSA CAM network (Ahn & Kwak, CVPR 2018; methods.md §2.2-§2.3) [code]:
# ResNet-38 (wider ResNet A1, OS 8, frozen BN) -> Dropout2d(0.5) -> GAP ->
# 1x1 conv 4096 -> C_fg without bias (Xavier); CAM = ReLU(W f).
# Inference: scales (1, 0.5, 1.5, 2) x flip, CAMs summed, absent classes
# zeroed, each class divided by its max; CAM-only masks use a constant
# background score 0.2.
#
# ImageNet weights: the authors' ResNet-38 (converted from MXNet) after
#   python tools/model_converters/psa_to_wsss.py \
#       resnet38d_imagenet_authors.pth pretrain/psa_resnet38d_imagenet.pth
resnet38_imagenet = 'pretrain/psa_resnet38d_imagenet.pth'
num_classes = 21
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet mean / std on 0-255 RGB, as the authors' Normalize [code]
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,  # zero padding after normalisation [code]
    seg_pad_val=255)
model = dict(
    type='CAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet38d',
        arch='a1',
        out_indices=(2, ),  # final 4096-ch map
        dropouts=(0.3, 0.5),
        frozen_stages=1,  # conv1a + layer2, as the authors' train_cls [code]
        norm_eval=True,  # all BN frozen [code]
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet38_imagenet,
            prefix='backbone.')),
    decode_head=dict(
        type='CAMHead',
        in_channels=4096,
        num_classes=num_classes,
        dropout_ratio=0.5,
        bias=False,
        classifier_init='xavier',
        cam_sqrt=False,  # sqrt only for the VGG-16 variant [code]
        loss_cls=dict(type='MultiLabelBCELoss')),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0),
        flip=True,
        use_img_labels=True,
        bg_mode='constant',
        bg_thresh=0.2))
