# APC (Wu et al., 2024) on COCO 2014 (80 classes + background, image
# labels from the instance annotations): single-stage training,
# segmentation mIoU on val2014. Paper: 45.7.
#   tools/dist_train.sh configs/apc/apc_vitb16_coco.py 2     # 2 x 8 = 16
# The recipe of apc_vitb16_voc.py (pipelines, Adam, frozen warm-up, hooks);
# here only the dataset, the number of classes and the iteration counts
# differ. The schedule length on COCO is not given by the paper: we keep its
# 50 epochs [ours], i.e. about 256k iterations.
# Sources of each value: configs/apc/README.md, methods.md §3.
_base_ = './apc_vitb16_voc.py'

num_classes = 81
# one epoch of COCO train2014 (82,081 images with a label) at batch 16
iters_per_epoch = 5130
num_epochs = 50  # [ours]

# The dataset fields of ../_base_/datasets/coco_weak.py over those of
# voc_weak.py (a config has a single chain of bases, so they are restated;
# tests/test_configs/test_apc_configs.py checks that they agree). The
# pipelines are the VOC config's.
dataset_type = 'COCOWeakDataset'
data_root = 'data/coco2014'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(img_path='train2014')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/val.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014')))
test_dataloader = val_dataloader
pseudo_label_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014')))
pseudo_label_splits = dict(
    train=dict(
        ann_file='ImageSets/train.txt',
        data_prefix=dict(
            img_path='train2014',
            seg_map_path='SegmentationClass/train2014')),
    val=dict(
        ann_file='ImageSets/val.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014')))

model = dict(
    num_classes=num_classes,
    patch_head=dict(num_classes=num_classes),
    decode_head=dict(num_classes=num_classes),
    train_cfg=dict(seg_loss_warmup_iters=iters_per_epoch))

# The VOC schedule in COCO epochs: heads only for one epoch, then lr x 0.1
# with the last 5 ViT blocks and the final norm trained; validation and a
# checkpoint every 10 epochs (VOC: 5).
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[iters_per_epoch],
        gamma=0.1)
]
custom_hooks = [
    dict(
        type='FreezeScheduleHook',
        module='backbone',
        unfreeze_iter=iters_per_epoch,
        num_unfrozen_layers=5,
        extra_unfrozen=('ln1', ))
]
train_cfg = dict(
    max_iters=num_epochs * iters_per_epoch, val_interval=10 * iters_per_epoch)
default_hooks = dict(checkpoint=dict(interval=10 * iters_per_epoch))
