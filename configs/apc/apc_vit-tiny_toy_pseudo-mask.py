# Pseudo-mask quality of the toy APC model on the toy `train` split (image
# labels known): the label-merged patch map, as apc_vitb16_voc_pseudo-mask.py.
#   tools/test.py configs/apc/apc_vit-tiny_toy_pseudo-mask.py CKPT
_base_ = ['./apc_vit-tiny_toy.py']

pseudo_mask_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadImageLevelLabels'),
    dict(type='Resize', scale=_base_.test_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
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
