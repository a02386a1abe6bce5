# 40k-iteration SGD schedule with poly learning-rate decay (as mmseg's
# schedule_40k.py); validation and checkpoints every 4k iterations.
# Everything else (SGD, hooks, loops) is schedule_20k.py's.
_base_ = './schedule_20k.py'
# a list is replaced, not merged: the whole scheduler is restated
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=40000,
        by_epoch=False)
]
train_cfg = dict(max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
