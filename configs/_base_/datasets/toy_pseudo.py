# Train any mmseg segmentor on pseudo labels of the toy dataset.
#
# The toy dataset of toy_weak.py, `train_aug` split, with masks read from a
# directory of pseudo-label PNGs (tools/make_pseudo_labels.py --split
# train_aug --out-dir ...) and a standard supervised pipeline. Point it at
# your labels with
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR
# (an absolute path, or one relative to data_root; default
# <data_root>/PseudoLabels/train_aug). 255 pixels (unsure
# regions) are ignored by mmseg's losses. Validation/test use the real masks
# of toy_weak.py.
_base_ = ['./toy_weak.py']

pseudo_label_dir = 'PseudoLabels/train_aug'  # relative to data_root
pseudo_crop_size = (128, 128)
pseudo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(128, 128),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=pseudo_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(seg_map_path=pseudo_label_dir),
        pipeline=pseudo_train_pipeline))
