# Component ablation of the APC paper (Table 6): AKP without the patch
# contrastive loss. Paper, VOC val: max pooling 68.6 -> AKP 70.3 ->
# AKP + PCL 72.3.
_base_ = ['./apc_vitb16_voc.py']

model = dict(loss_pcl=None)
