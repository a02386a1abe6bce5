# Pooling ablation of the APC paper (Table 7, with PCL): 'avg' pooling of the
# patch probabilities instead of adaptive-K pooling. Paper, VOC val:
# avg 61.7, max 70.5, top-K 71.8, AKP 72.3.
_base_ = ['./apc_vitb16_voc.py']

model = dict(patch_head=dict(pool_mode='avg'))
