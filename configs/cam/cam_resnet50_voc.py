# CAM baseline: ImageNet-pretrained ResNet-50 (output stride 16) trained on
# PASCAL VOC 2012 train_aug (10,582 images) with image-level labels only.
# Training recipe of IRN's ResNet-50 CAM (Ahn et al., CVPR 2019) [code]:
# long side resized uniformly to [320, 640], h-flip, random 512 x 512 crop
# (zero padding after normalisation), batch 16, 5 epochs (3,310 iterations),
# poly SGD lr 0.1 (classifier x10), weight decay 1e-4, frozen BatchNorm.
# Inference (model.test_cfg, see the base model): PSA's multi-scale + flip
# CAM summation, max normalisation and constant background 0.2.
#   tools/dist_train.sh configs/cam/cam_resnet50_voc.py 2        # 2 x 8 images
#   tools/make_pseudo_labels.py configs/cam/cam_resnet50_voc.py CKPT \
#       --split train --eval                  # pseudo-mask mIoU on VOC train
_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/voc_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
max_iters = 3310  # 5 epochs of 10,582 images at batch 16
model = dict(
    data_preprocessor=dict(size=crop_size),
    # val/test images carry no labels: keep only the classes the classifier
    # accepts (our reconstruction, see CAMSegmentor); labelled splits
    # (make_pseudo_labels --split train) use their labels instead.
    test_cfg=dict(cls_score_thresh=0.5))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    # long side uniform in [320, 640] (VOC images are at most 500 x 500)
    dict(
        type='RandomResize',
        scale=(640, 640),
        ratio_range=(0.5, 1.0),
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWeakSegInputs')
]
train_dataloader = dict(
    batch_size=8,  # per GPU; 2 GPUs -> 16
    num_workers=4,
    dataset=dict(pipeline=train_pipeline))

optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    # the new classifier learns 10x faster than the pretrained backbone
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
