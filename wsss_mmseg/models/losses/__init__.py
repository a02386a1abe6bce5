from .multilabel_bce_loss import MultiLabelBCELoss
from .patch_contrast_loss import PatchContrastLoss
from .affinity_loss import AffinityLoss
from .patch_equivariance_loss import PatchEquivarianceLoss

__all__ = [
    'MultiLabelBCELoss', 'PatchContrastLoss', 'AffinityLoss',
    'PatchEquivarianceLoss'
]
