# Train any mmseg segmentor on pseudo labels of MS-COCO 2014 train.
#
# The dataset of coco_weak.py, `train` split, with masks read from a
# directory of pseudo-label PNGs (tools/make_pseudo_labels.py --split train
# --out-dir ...) and a standard supervised pipeline (512x512 crops). Point
# it at your labels with
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR
# (an absolute path, or one relative to data_root; default
# <data_root>/PseudoLabels/train2014). 255 pixels (unsure regions) are
# ignored by mmseg's losses. Validation/test use the real masks of
# coco_weak.py.
_base_ = ['./coco_weak.py']

pseudo_label_dir = 'PseudoLabels/train2014'  # relative to data_root
pseudo_crop_size = (512, 512)
pseudo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=pseudo_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        ann_file='ImageSets/train.txt',
        data_prefix=dict(seg_map_path=pseudo_label_dir),
        pipeline=pseudo_train_pipeline))
