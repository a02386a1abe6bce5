# SPN (Kwak, Hong & Han, AAAI 2017): frozen VGG-16 with pooling switches +
# extra conv, unpooling feature upsampler, superpixel pooling head (SP and
# GAP branches), SP-CAM at inference. See configs/spn/README.md and
# methods.md §1. [paper] = stated by the paper, [ours] = our reading.

# torchvision's ImageNet VGG-16 (keys converted on load by VGG16Switches;
# mmpretrain's vgg16 checkpoints load as well). Download it yourself or run
# tools/model_converters/vgg16_to_wsss.py on a local copy.
vgg16_checkpoint = 'https://download.pytorch.org/models/vgg16-397923af.pth'
num_classes = 21
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # batches are padded bottom/right to a common size (the segmentor pads
    # the superpixels alike with -1), then to a square by the segmentor
    size_divisor=32)
model = dict(
    type='SPNSegmentor',
    num_classes=num_classes,
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='VGG16Switches',
        arch='vgg16',
        extra_conv_channels=512,  # one trainable 3x3 conv + ReLU [paper]
        frozen=True,  # ImageNet VGG-16 kept fixed [paper]
        init_cfg=dict(type='Pretrained', checkpoint=vgg16_checkpoint)),
    neck=dict(
        type='SwitchUnpoolUpsampler',
        in_channels=512,
        # deconv, deconv, unpool(pool5 switches), deconv, deconv; BN+ReLU
        # after each [paper]; widths except K and the 3x3 kernel [ours]
        channels=(512, 512, 512, 512),  # last = K = 512 [paper]
        pool5_channels=512,
        kernel_size=3),
    decode_head=dict(
        type='SuperpixelPoolingHead',
        in_channels=512,
        gap_in_channels=512,
        num_classes=num_classes - 1,  # no background output
        use_gap_branch=True,  # bottom branch helps convergence [paper]
        sum_over_classes=True,  # sum of C logistic losses [paper]
        sp_cam_bias=True,  # [ours]
        loss_sp=dict(type='MultiLabelBCELoss', loss_name='loss_sp'),
        loss_gap=dict(type='MultiLabelBCELoss', loss_name='loss_gap')),
    # one random square size per batch from 250..500 step 50 [paper]; the
    # pipeline delivers square images of one size (PadToSquare + Resize)
    train_cfg=dict(batch_sizes=(250, 300, 350, 400, 450, 500)),
    test_cfg=dict(
        # six square scales fused by element-wise max [paper]
        scales=[(250, 250), (300, 300), (350, 350), (400, 400), (450, 450),
                (500, 500)],
        flip=False,
        fusion='max',
        sp_cam_threshold=0.5,  # 50% of each class's max [paper]
        presence='labels',  # image labels when present, else predicted
        presence_threshold=0.5,
        use_img_labels=True))
