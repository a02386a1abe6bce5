# PSA stage 5: a stock mmseg DeepLabV3+ (ResNet-101, 512x512, 40k iters)
# trained on the random-walk pseudo masks of train_aug instead of the
# ground truth; evaluated on val (the paper used DeepLab-v2 ResNet-38;
# any mmseg segmentor fits here).
#   MASKS=$PWD/work_dirs/psa/rw_masks
#   tools/dist_train.sh configs/psa/psa-seg_deeplabv3plus-r101_voc.py 4 \
#       --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=$MASKS
#   tools/test.py configs/psa/psa-seg_deeplabv3plus-r101_voc.py CKPT
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py'
]
# our scope (mmseg's types resolve through it); registers wsss_mmseg (the
# CPU-capable runner) also under mmseg's own tools
default_scope = 'wsss_mmseg'
custom_imports = dict(imports=['wsss_mmseg'], allow_failed_imports=False)
runner_type = 'wsss_mmseg.DeviceAwareRunner'
# stage-4 output: one PNG per train_aug image (absolute path, or relative
# to data_root)
pseudo_mask_dir = 'work_dirs/psa/rw_masks'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PascalVOCDataset',
        data_root='data/VOCdevkit/VOC2012',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_mask_dir),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline={{_base_.train_pipeline}}))
