from .multilabel_bce_loss import MultiLabelBCELoss

__all__ = ['MultiLabelBCELoss']
