from .label_io import (check_writable_dir, encode_label_png, is_complete_npz,
                       is_complete_png, voc_palette, write_label_png,
                       write_scores_npz)
from .postprocessors import (ArgmaxLabeler, BaseLabelPostprocessor,
                             ConfidenceThresholdLabeler,
                             build_label_postprocessor)
from .model_utils import build_dataset, unwrap_model
from .pseudo_label_generator import SUMMARY_FILE, PseudoLabelGenerator
from .split_utils import (check_checkpoint_classes, init_dist_for_launcher,
                          init_weak_model, split_dataset_cfg)
from .visualization import (colorize_labels, draw_pseudo_label_grid,
                            score_heatmap)

__all__ = [
    'check_writable_dir', 'encode_label_png', 'is_complete_npz',
    'is_complete_png', 'voc_palette', 'write_label_png', 'write_scores_npz',
    'ArgmaxLabeler', 'BaseLabelPostprocessor', 'ConfidenceThresholdLabeler',
    'build_label_postprocessor', 'SUMMARY_FILE', 'PseudoLabelGenerator',
    'build_dataset', 'unwrap_model', 'check_checkpoint_classes',
    'init_dist_for_launcher', 'init_weak_model', 'split_dataset_cfg',
    'colorize_labels', 'draw_pseudo_label_grid', 'score_heatmap'
]
