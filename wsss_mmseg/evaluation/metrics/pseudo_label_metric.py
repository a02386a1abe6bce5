"""Metric of a directory of label PNGs (pseudo labels) against ground truth."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from wsss_mmseg.registry import METRICS
from ..label_eval import (confusion_matrix, format_iou_table,
                          label_file_name, metrics_from_confusion,
                          read_label_map)


@METRICS.register_module()
class PseudoLabelMetric(BaseMetric):
    """mIoU of pseudo labels, read from PNG files or taken from predictions.

    For each sample of the evaluated dataloader (which must load the ground
    truth, ``gt_sem_seg``), the pseudo label is read from
    ``<pred_dir>/<image name><suffix>`` (image name relative to the
    dataset's image dir, see :func:`label_file_name`) or, when ``pred_dir``
    is None, taken from the sample's ``pred_sem_seg``. Unlike mmseg's
    ``IoUMetric``, labels outside ``[0, num_classes)`` in the pseudo labels
    (255 = "unsure" of confident-region labels) are allowed: they count as
    misses of their ground-truth class.

    Samples without ground truth, or without a pseudo-label file, are
    reported by name in the log and left out; the rest are evaluated.

    Args:
        pred_dir (str, optional): Directory of pseudo-label PNGs.
        suffix (str): Suffix of the pseudo-label files. Default '.png'.
        img_root (str, optional): The dataset's image directory (to keep
            sub-folders in the names). Default None: bare file names.
        ignore_index (int): Ground-truth label to ignore. Default 255.
        iou_metrics (list[str]): Accepted for drop-in use where an
            ``IoUMetric`` config is overridden (``test_evaluator.type=
            PseudoLabelMetric``); only ``['mIoU']`` is supported.
        collect_device (str): As in :class:`BaseMetric`.
        prefix (str, optional): As in :class:`BaseMetric`.
    """

    default_prefix: Optional[str] = 'pseudo_label'

    def __init__(self,
                 pred_dir: Optional[str] = None,
                 suffix: str = '.png',
                 img_root: Optional[str] = None,
                 ignore_index: int = 255,
                 iou_metrics: Sequence[str] = ('mIoU', ),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if list(iou_metrics) != ['mIoU']:
            raise ValueError('PseudoLabelMetric computes mIoU only, got '
                             f'iou_metrics={list(iou_metrics)}')
        self.pred_dir = pred_dir
        self.suffix = suffix
        self.img_root = img_root
        self.ignore_index = ignore_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Add the confusion matrix of each sample to ``self.results``.

        Args:
            data_batch (dict): Unused.
            data_samples (list[dict]): Outputs of the model (as dicts);
                ``gt_sem_seg.data`` is (1, H, W).
        """
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            img_path = sample.get('img_path', '')
            name = label_file_name(img_path, self.img_root, self.suffix)
            if 'gt_sem_seg' not in sample:
                self.results.append(dict(name=name, missing='gt'))
                continue
            gt = sample['gt_sem_seg']['data'].squeeze(0).cpu().numpy()
            if self.pred_dir is None:
                pred = sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy()
            else:
                path = osp.join(self.pred_dir, name)
                if not osp.isfile(path):
                    self.results.append(dict(name=name, missing='pred'))
                    continue
                pred = read_label_map(path)
                if pred.shape != gt.shape:
                    raise ValueError(
                        f'{path}: pseudo label of size {pred.shape} but the '
                        f'ground truth of {img_path} is {gt.shape}')
            conf = confusion_matrix(pred, gt, num_classes, self.ignore_index)
            self.results.append(dict(name=name, conf=conf))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """mIoU, mAcc, aAcc (in %) and the per-class table in the log.

        Args:
            results (list[dict]): Collected from all ranks.

        Returns:
            dict: ``mIoU``, ``mAcc``, ``aAcc``, ``num_evaluated``,
            ``num_missing``.
        """
        logger = MMLogger.get_current_instance()
        class_names = self.dataset_meta['classes']
        confs = [r['conf'] for r in results if 'conf' in r]
        missing = {
            kind: [r['name'] for r in results if r.get('missing') == kind]
            for kind in ('gt', 'pred')
        }
        for kind, what in (('gt', 'ground truth'), ('pred', 'pseudo label')):
            if missing[kind]:
                print_log(
                    f'{len(missing[kind])} images have no {what} and are '
                    f'left out: {missing[kind][:20]}'
                    f"{' ...' if len(missing[kind]) > 20 else ''}",
                    logger=logger)
        if not confs:
            raise ValueError('PseudoLabelMetric: no image had both a pseudo '
                             'label and ground truth')
        metrics = metrics_from_confusion(np.sum(confs, axis=0))
        print_log('\n' + format_iou_table(metrics, class_names), logger)
        return dict(
            mIoU=round(100 * metrics['mIoU'], 2),
            mAcc=round(100 * metrics['mAcc'], 2),
            aAcc=round(100 * metrics['aAcc'], 2),
            num_evaluated=len(confs),
            num_missing=len(missing['gt']) + len(missing['pred']))
