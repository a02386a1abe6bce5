# PSA AffinityNet (Ahn & Kwak, CVPR 2018; methods.md §2.4-§2.6) [code]:
# ResNet-38 levels conv4 (512), conv5 (1024), conv6 (4096) -> 1x1 projections
# 64 / 128 / 256 + ELU -> concat 448 -> 1x1 448 + ELU; affinity
# exp(-mean |f_i - f_j|) for the 34 offsets within radius 5; loss
# L_bg/4 + L_fg/4 + L_neg/2. Predict: CAMs of the CAM network (cam_model,
# cam_checkpoint) with background (1 - max)^16, random walk with beta 8 and
# 2^8 steps (sparse operator).
resnet38_imagenet = 'pretrain/psa_resnet38d_imagenet.pth'
num_classes = 21
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)  # padding = unsure
model = dict(
    type='AffinitySegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet38d',
        arch='a1',
        out_indices=(0, 1, 2),
        dropouts=(0.3, 0.5),
        frozen_stages=1,  # conv1a + layer2, as the authors' train_aff [code]
        norm_eval=True,
        # ImageNet init; initialising from the CAM network does worse
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet38_imagenet,
            prefix='backbone.')),
    decode_head=dict(
        type='AffinityHead',
        in_channels=(512, 1024, 4096),
        num_classes=num_classes,
        proj_channels=(64, 128, 256),
        norm_groups=None,  # GroupNorm only in the VGG-16 variant [code]
        radius=5,
        distance='mean',  # channel mean [code]; 'sum' = paper's L1
        loss_aff=dict(
            type='AffinityLoss', bg_weight=0.25, fg_weight=0.25,
            neg_weight=0.5)),
    # CAM network of stage 1: a config (path or dict) and its checkpoint,
    # used only for prediction (set by tools/pipelines/psa.sh)
    cam_model=None,
    cam_checkpoint=None,
    test_cfg=dict(
        rw_beta=8.0,
        rw_logt=8,  # t = 2^8 = 256 steps
        rw_bg_alpha=16.0,
        use_img_labels=True,
        crf=False))
