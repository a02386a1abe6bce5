# Pseudo-mask quality of the VOC CAM model: tools/test.py on VOC `train`
# (1,464 images with image labels and masks); the CAMs are restricted to each
# image's classes, as for pseudo labels. The number to compare with IRN's 48.3
# (ResNet-50 CAM, VOC train).
#   tools/test.py configs/cam/cam_resnet50_voc_pseudo-mask.py CKPT
_base_ = ['./cam_resnet50_voc.py']

test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=_base_.pseudo_label_dataloader.dataset)
model = dict(test_cfg=dict(use_img_labels=True))
