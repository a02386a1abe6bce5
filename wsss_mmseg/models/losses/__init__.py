from .multilabel_bce_loss import MultiLabelBCELoss
from .patch_contrast_loss import PatchContrastLoss
from .affinity_loss import AffinityLoss

__all__ = ['MultiLabelBCELoss', 'PatchContrastLoss', 'AffinityLoss']
