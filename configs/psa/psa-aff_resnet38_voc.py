# PSA stages 3-4: AffinityNet (ResNet-38) trained on the confident regions
# of train_aug, then random-walk pseudo masks.
#   CR=$PWD/work_dirs/psa/confident_regions
#   tools/dist_train.sh configs/psa/psa-aff_resnet38_voc.py 2 --cfg-options \
#       train_dataloader.dataset.data_prefix.seg_map_path=$CR
#   python tools/make_pseudo_labels.py configs/psa/psa-aff_resnet38_voc.py \
#       AFF_CKPT --split train_aug --out-dir work_dirs/psa/rw_masks \
#       --cfg-options model.cam_checkpoint=CAM_CKPT
# Or run every stage: tools/pipelines/psa.sh. Values: methods.md §2,
# configs/psa/README.md.
_base_ = [
    '../_base_/models/psa_resnet38_aff.py', '../_base_/datasets/voc_weak.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
# stage-2 output: one PNG per train_aug image {0 bg, 1..20, 255 unsure};
# a relative path is taken relative to the dataset's data_root, so pass an
# absolute one (override train_dataloader.dataset.data_prefix.seg_map_path)
confident_region_dir = 'work_dirs/psa/confident_regions'
crop_size = (448, 448)
# 8 epochs of train_aug at batch 8 [code]
iters_per_epoch = 1323
max_iters = 8 * iters_per_epoch

# [code] random crop 448 (zero image padding, label padding = unsure) and
# h-flip of the image and its confident regions; colour jitter on the image
aff_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.NumpyToPIL', to_rgb=True),
    dict(
        type='mmpretrain.torchvision/ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    dict(type='mmpretrain.PILToNumpy', to_bgr=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWeakSegInputs'),
]
train_dataloader = dict(
    batch_size=4,  # per GPU; 2 GPUs -> 8 [code]
    num_workers=4,
    dataset=dict(
        data_prefix=dict(seg_map_path=confident_region_dir),
        pipeline=aff_train_pipeline))
model = dict(
    data_preprocessor=dict(size=crop_size),
    # the stage-1 CAM network (config + checkpoint) for prediction
    cam_model='configs/psa/psa-cam_resnet38_voc.py',
    cam_checkpoint=None)

# the four lr / wd groups of the CAM stage [code]; lr 0.01 for ResNet-38
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        bias_lr_mult=2.0,
        bias_decay_mult=0.0,
        custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
# No validation while training: predicting needs the stage-1 checkpoint,
# and checkpoints are never chosen with val ground truth. tools/test.py
# evaluates the random walk on val (test_dataloader).
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=2 * iters_per_epoch,
        max_keep_ckpts=1))
# Stage 4: random-walk masks (argmax); dense CRF optional (--crf with
# PSA's parameters below)
pseudo_label_cfg = dict(postprocess='ArgmaxLabeler', crf=False)
psa_crf = dict(
    n_iter=10, pos_xy_std=3, pos_w=3, bi_xy_std=80, bi_rgb_std=13, bi_w=10)
auto_scale_lr = dict(enable=False, base_batch_size=8)
