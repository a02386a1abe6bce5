# 80k-iteration SGD schedule with poly learning-rate decay (as mmseg's
# schedule_80k.py); validation and checkpoints every 8k iterations.
# Everything else (SGD, hooks, loops) is schedule_20k.py's.
_base_ = './schedule_20k.py'
# a list is replaced, not merged: the whole scheduler is restated
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=0,
        end=80000,
        by_epoch=False)
]
train_cfg = dict(max_iters=80000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
