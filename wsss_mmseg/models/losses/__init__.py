from .multilabel_bce_loss import MultiLabelBCELoss
from .patch_contrast_loss import PatchContrastLoss

__all__ = ['MultiLabelBCELoss', 'PatchContrastLoss']
