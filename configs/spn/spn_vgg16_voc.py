# SPN (Kwak, Hong & Han, AAAI 2017) on PASCAL VOC 2012 train_aug with
# image-level labels: frozen VGG-16 + switches, unpooling upsampler,
# superpixel pooling (SP) + GAP branches. Stage 1 of tools/pipelines/spn.sh.
#   python tools/dataset_converters/make_superpixels.py \
#       data/VOCdevkit/VOC2012 --config configs/spn/spn_vgg16_voc.py --workers 8   # every image
#   tools/dist_train.sh configs/spn/spn_vgg16_voc.py 2
#   tools/make_pseudo_labels.py configs/spn/spn_vgg16_voc.py CKPT \
#       --split train_aug --out-dir data/VOCdevkit/VOC2012/PseudoLabels/spn
# SP-CAM masks (six square scales 250..500 fused by max, 50% of each
# present class's max) are the initial annotations of the refinement
# (spn-refine-*_voc.py).
_base_ = [
    '../_base_/models/spn_vgg16.py', '../_base_/datasets/voc_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
# Superpixel cache (read by make_superpixels.py --config and by
# LoadSuperpixels below). Felzenszwalb-Huttenlocher [ours: the paper does
# not give its parameters]; about 200-600 superpixels per VOC image.
superpixel_cfg = dict(
    algorithm='felzenszwalb',
    scale=100.0,
    sigma=0.8,
    min_size=50,
    out_dir='superpixels/felzenszwalb',  # relative to data_root
    format='png')  # 16-bit PNG ids 0..N-1
superpixel_dir = 'superpixels/felzenszwalb'
# No geometric transform: the segmentor pads the batch to a square and
# resizes it to one random size of 250..500 (train_cfg.batch_sizes), images
# bilinear and superpixels nearest.
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
# pseudo labels of the training images: image labels restrict the classes
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

# Only the upsampler, the extra conv and the two FCs train (VGG-16 frozen);
# lr [ours: the paper gives none].
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)
