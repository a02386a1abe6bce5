from .label_eval import (confusion_matrix, evaluate_label_files,
                         format_iou_table, label_file_name,
                         metrics_from_confusion, metrics_to_dict,
                         pair_label_dirs, read_label_map)
from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metrics_all

__all__ = [
    'confusion_matrix', 'evaluate_label_files', 'format_iou_table',
    'label_file_name', 'metrics_from_confusion', 'metrics_to_dict',
    'pair_label_dirs', 'read_label_map'
] + list(_metrics_all)
