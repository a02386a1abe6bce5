# Pseudo-mask quality of APC on VOC train (1,464 images, the convention of
# the field): the label-merged patch map (methods.md §3.4) restricted to the
# image labels, compared with the ground truth. Paper: 74.6 mIoU.
#   tools/test.py configs/apc/apc_vitb16_voc_pseudo-mask.py CKPT
# Training with this config is the same as with apc_vitb16_voc.py.
_base_ = ['./apc_vitb16_voc.py']

pseudo_mask_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(type='Resize', scale=_base_.test_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
# the dataset's `train` split with image labels and masks
test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _base_.pseudo_label_dataloader.dataset,
        pipeline=pseudo_mask_pipeline))
model = dict(
    test_cfg=dict(output='patch', merge_labels=True, use_img_labels=True))
