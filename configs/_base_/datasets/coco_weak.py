# MS-COCO 2014 for weakly supervised segmentation (80 classes + background
# = 81). Layout (docs/dataset_prepare.md; masks and lists made by
# tools/dataset_converters/coco2014.py):
#   data/coco2014/{train2014, val2014, SegmentationClass/{train2014,val2014},
#     ImageSets/{train,val}.txt, cls_labels.npy}
# train (~82k ids with an object): training with image-level labels and
# pseudo-mask quality; val (~40k): segmentation mIoU.
# The pipelines (train, test, tta, pseudo-label), loader settings and
# evaluators are voc_weak.py's; only the dataset class, the paths and the
# split lists differ.
_base_ = './voc_weak.py'

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
# The labelled training images with test-time transforms (pseudo labels and
# their mIoU): COCO's `train` split has masks for every image.
pseudo_label_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014')))
# COCO's image and mask folders differ per split: the pseudo-label tools
# (`--split NAME`) merge these into pseudo_label_dataloader.dataset.
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
