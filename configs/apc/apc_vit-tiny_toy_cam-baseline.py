# The like-for-like CAM baseline of the APC toy comparison (README, "Toy
# results"): the same tiny ViT (4 layers, 64 dims, patch 8), data, pipeline,
# optimiser, schedule and frozen warm-up as apc_vit-tiny_toy.py, but a plain
# CAM classifier (GAP -> 1x1 classifier, sigmoid multi-label loss) instead of
# the APC heads; CAM inference as PSA (4 scales + flip, max-normalised CAMs,
# constant background 0.2). Not an APC model: it exists to measure what the
# APC components add on the same backbone.
_base_ = ['./apc_vit-tiny_toy.py']

model = dict(
    _delete_=True,
    type='CAMSegmentor',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True,
        size_divisor=8,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=64, num_layers=4, num_heads=4,
            feedforward_channels=128),
        img_size=(128, 128),
        patch_size=8,
        out_indices=(3, ),
        out_type='featmap',
        with_cls_token=True,
        final_norm=True,
        interpolate_mode='bicubic'),
    decode_head=dict(
        type='CAMHead',
        in_channels=64,
        num_classes=6,
        in_index=-1,
        dropout_ratio=0.0,
        bias=False,
        classifier_init='xavier',
        loss_cls=dict(type='MultiLabelBCELoss', use_sigmoid=True)),
    train_cfg=dict(),
    test_cfg=dict(
        scales=(1.0, 0.5, 1.5, 2.0),
        flip=True,
        use_img_labels=True,
        bg_mode='constant',
        bg_thresh=0.2,
        # val images carry no labels: drop classes the classifier rejects
        cls_score_thresh=0.5))
