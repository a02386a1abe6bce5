# psa-cam_resnet38_voc.py with the authors' effective SGD momentum: their
# PolyOptimizer passes weight_decay positionally into torch.optim.SGD's
# momentum argument, so training ran with momentum 5e-4 (and the per-group
# weight decays). Use this to reproduce their numbers exactly.
_base_ = ['./psa-cam_resnet38_voc.py']
optim_wrapper = dict(optimizer=dict(momentum=0.0005))
