# Short schedule for the toy dataset (data/toy, 128x128 images): a few
# hundred SGD iterations with poly decay, validation and a checkpoint at
# the half and at the end, frequent log lines. A config that changes
# `train_cfg.max_iters` must change `param_scheduler[0].end` to match.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=400,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # interval: iterations between two log lines.
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keeps the last two checkpoints only.
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=200, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # draw=False by default; tools/test.py --show-dir turns drawing on.
    visualization=dict(type='SegVisualizationHook'))
