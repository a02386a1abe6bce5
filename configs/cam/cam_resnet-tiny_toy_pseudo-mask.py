# Pseudo-mask quality of the toy CAM model: tools/test.py on the labelled toy
# `train` split (image labels and masks), so the CAMs are restricted to each
# image's classes as when generating pseudo labels (the conventional WSSS
# measure of a CAM).
#   tools/test.py configs/cam/cam_resnet-tiny_toy_pseudo-mask.py CKPT
_base_ = ['./cam_resnet-tiny_toy.py']

test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_base_.pseudo_label_dataloader.dataset)
model = dict(test_cfg=dict(use_img_labels=True))
