# CAM classifier (Zhou et al., CVPR 2016) on an ImageNet-pretrained
# torchvision-layout ResNet-50 with output stride 16 (layer4 dilated), the
# ResNet-50 CAM of IRN (Ahn et al., CVPR 2019) [code]: frozen BatchNorm,
# frozen stem, GAP -> 1x1 classifier without bias, multi-label soft-margin
# loss. Inference follows PSA's released code (methods.md §2.3): scales
# (1.0, 0.5, 1.5, 2.0) x h-flip, raw CAMs summed, absent classes zeroed,
# each class divided by its max (+1e-5), constant background score 0.2.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
# BN statistics and affine parameters stay at their ImageNet values (IRN).
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='CAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',  # torchvision layout (no deep stem)
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        # output stride 16: layer4 keeps stride 1 and dilates by 2
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        contract_dilation=True,
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=True,
        frozen_stages=0,  # the stem (conv1 + bn1), as IRN
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet50')),
    decode_head=dict(
        type='CAMHead',
        in_channels=2048,
        num_classes=21,  # with background (VOC)
        in_index=-1,  # the last backbone output (layer4, 2048 ch)
        dropout_ratio=0.0,
        bias=False,
        classifier_init='xavier',
        loss_cls=dict(
            type='MultiLabelBCELoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0),
        flip=True,
        use_img_labels=True,
        bg_mode='constant',
        bg_thresh=0.2))
