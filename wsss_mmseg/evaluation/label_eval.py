"""Evaluation of label maps (pseudo labels, predictions) against ground truth.

Pure functions shared by :class:`~wsss_mmseg.evaluation.PseudoLabelMetric`,
the pseudo-label engine (:mod:`wsss_mmseg.apis`) and
``tools/eval_pseudo_labels.py``. The numbers are the ones mmseg's
``IoUMetric`` reports (intersection over union per class from one confusion
matrix accumulated over the whole set, mIoU = mean over classes that occur
in the ground truth or the prediction, aAcc = pixel accuracy), so pseudo-label
mIoU and segmentation mIoU are comparable.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image


def confusion_matrix(pred: np.ndarray,
                     gt: np.ndarray,
                     num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """Confusion matrix of one label map.

    ``M[g, p]`` counts the pixels with ground truth ``g`` and prediction
    ``p``; pixels whose ground truth is ``ignore_index`` (or outside
    ``[0, num_classes)``) are left out. Predictions outside
    ``[0, num_classes)`` (e.g. 255 "unsure" pixels of confident-region
    labels) count as wrong for their ground-truth class: they are missing
    from its intersection but not added to any class's prediction.

    Args:
        pred (np.ndarray): (H, W) integer predicted labels.
        gt (np.ndarray): (H, W) integer ground-truth labels.
        num_classes (int): Number of classes C (background included).
        ignore_index (int): Ground-truth value to ignore.

    Returns:
        np.ndarray: (C, C + 1) int64; the last column counts predictions
        outside ``[0, C)``.
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction of shape {pred.shape} and ground truth '
                         f'of shape {gt.shape} differ')
    gt = gt.astype(np.int64).ravel()
    pred = pred.astype(np.int64).ravel()
    keep = (gt != ignore_index) & (gt >= 0) & (gt < num_classes)
    gt, pred = gt[keep], pred[keep]
    pred = np.where((pred >= 0) & (pred < num_classes), pred, num_classes)
    counts = np.bincount(
        gt * (num_classes + 1) + pred,
        minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1)


def metrics_from_confusion(conf: np.ndarray) -> Dict:
    """IoU, accuracy and their means from a confusion matrix.

    ``IoU_c = M[c, c] / (sum_p M[c, p] + sum_g M[g, c] - M[c, c])`` and
    ``Acc_c = M[c, c] / sum_p M[c, p]``; classes that appear neither in the
    ground truth nor in the prediction have NaN and are left out of the
    means (as in mmseg's ``IoUMetric``).

    Args:
        conf (np.ndarray): (C, C) or (C, C + 1) confusion matrix, rows =
            ground truth.

    Returns:
        dict: ``IoU`` (C,), ``Acc`` (C,) float arrays in [0, 1] (NaN when
        undefined), ``mIoU``, ``mAcc``, ``aAcc`` floats in [0, 1].
    """
    conf = np.asarray(conf, dtype=np.float64)
    num_classes = conf.shape[0]
    tp = np.diag(conf[:, :num_classes])
    gt_total = conf.sum(1)
    pred_total = conf[:, :num_classes].sum(0)
    union = gt_total + pred_total - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt_total > 0, tp / gt_total, np.nan)
    total = conf.sum()
    return dict(
        IoU=iou,
        Acc=acc,
        mIoU=float(np.nanmean(iou)) if np.isfinite(iou).any() else
        float('nan'),
        mAcc=float(np.nanmean(acc)) if np.isfinite(acc).any() else
        float('nan'),
        aAcc=float(tp.sum() / total) if total > 0 else float('nan'))


def format_iou_table(metrics: Dict,
                     class_names: Optional[Sequence[str]] = None) -> str:
    """Per-class IoU / Acc table in the layout of mmseg's ``IoUMetric``.

    Args:
        metrics (dict): Output of :func:`metrics_from_confusion`.
        class_names (list[str], optional): Names of the C classes.

    Returns:
        str: The table followed by a summary line (values in %).
    """
    from prettytable import PrettyTable
    iou, acc = metrics['IoU'], metrics['Acc']
    if class_names is None:
        class_names = [str(i) for i in range(len(iou))]
    if len(class_names) != len(iou):
        raise ValueError(f'{len(class_names)} class names for {len(iou)} '
                         'classes')
    table = PrettyTable()
    table.add_column('Class', list(class_names))
    table.add_column('IoU', [f'{100 * v:.2f}' for v in iou])
    table.add_column('Acc', [f'{100 * v:.2f}' for v in acc])
    summary = PrettyTable()
    summary.add_column('aAcc', [f"{100 * metrics['aAcc']:.2f}"])
    summary.add_column('mIoU', [f"{100 * metrics['mIoU']:.2f}"])
    summary.add_column('mAcc', [f"{100 * metrics['mAcc']:.2f}"])
    return (f'per class results:\n{table.get_string()}\n'
            f'Summary:\n{summary.get_string()}')


def metrics_to_dict(metrics: Dict,
                    class_names: Optional[Sequence[str]] = None) -> Dict:
    """JSON-friendly version of :func:`metrics_from_confusion` output (%).

    NaN entries become None.
    """
    iou = metrics['IoU']
    if class_names is None:
        class_names = [str(i) for i in range(len(iou))]

    def pct(v):
        return None if v is None or not np.isfinite(v) else round(
            100 * float(v), 4)

    return OrderedDict(
        mIoU=pct(metrics['mIoU']),
        mAcc=pct(metrics['mAcc']),
        aAcc=pct(metrics['aAcc']),
        IoU=OrderedDict((n, pct(v)) for n, v in zip(class_names, iou)),
        Acc=OrderedDict(
            (n, pct(v)) for n, v in zip(class_names, metrics['Acc'])))


def read_label_map(path: str,
                   reduce_zero_label: bool = False,
                   ignore_index: int = 255) -> np.ndarray:
    """Read a label PNG as class indices.

    Palette ('P') PNGs give their palette indices (the VOC convention),
    greyscale PNGs their values.

    Args:
        path (str): The PNG file.
        reduce_zero_label (bool): Map 0 to ``ignore_index`` and subtract 1
            from the rest (ADE20K-style ground truth).
        ignore_index (int): See ``reduce_zero_label``.

    Returns:
        np.ndarray: (H, W) int64 labels.
    """
    with Image.open(path) as img:
        if img.mode not in ('P', 'L', 'I', 'I;16'):
            raise ValueError(f'{path}: a label map must be a palette or '
                             f'single-channel PNG, found mode {img.mode}')
        label = np.array(img).astype(np.int64)
    if reduce_zero_label:
        label = np.where(label == 0, ignore_index + 1, label) - 1
        label[label == ignore_index] = ignore_index
    return label


def evaluate_label_files(
        pairs: Sequence[Tuple[str, str, Optional[str]]],
        num_classes: int,
        ignore_index: int = 255,
        reduce_zero_label: bool = False
) -> Tuple[np.ndarray, List[str], List[str]]:
    """Accumulate the confusion matrix of many (prediction, ground truth)
    files.

    Args:
        pairs (list[tuple]): ``(name, pred_path, gt_path)``; ``gt_path``
            may be None.
        num_classes (int): C.
        ignore_index (int): Ignored ground-truth value.
        reduce_zero_label (bool): See :func:`read_label_map` (ground truth
            only).

    Returns:
        tuple: the (C, C + 1) int64 confusion matrix, the names whose ground
        truth is missing, the names whose prediction is missing.
    """
    conf = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
    missing_gt, missing_pred = [], []
    for name, pred_path, gt_path in pairs:
        if gt_path is None or not osp.isfile(gt_path):
            missing_gt.append(name)
            continue
        if not osp.isfile(pred_path):
            missing_pred.append(name)
            continue
        pred = read_label_map(pred_path)
        gt = read_label_map(gt_path, reduce_zero_label, ignore_index)
        if pred.shape != gt.shape:
            raise ValueError(
                f'{name}: pseudo label {pred_path} has size {pred.shape}, '
                f'its ground truth {gt_path} has size {gt.shape}')
        conf += confusion_matrix(pred, gt, num_classes, ignore_index)
    return conf, missing_gt, missing_pred


def pair_label_dirs(pred_dir: str,
                    gt_dir: str,
                    names: Optional[Sequence[str]] = None,
                    suffix: str = '.png',
                    gt_suffix: str = '.png'
                    ) -> List[Tuple[str, str, Optional[str]]]:
    """(name, pred_path, gt_path) triples for two label directories.

    Args:
        pred_dir (str): Directory of predicted label PNGs.
        gt_dir (str): Directory of ground-truth label PNGs.
        names (list[str], optional): Image names (no suffix) to evaluate,
            e.g. the lines of a split file; default all PNGs in
            ``pred_dir``.
        suffix (str): Suffix of the predicted files.
        gt_suffix (str): Suffix of the ground-truth files.

    Returns:
        list[tuple]: ``gt_path`` is None when the file does not exist.
    """
    import os
    if names is None:
        if not osp.isdir(pred_dir):
            raise FileNotFoundError(f'pseudo-label dir {pred_dir} not found')
        names = sorted(f[:-len(suffix)] for f in os.listdir(pred_dir)
                       if f.endswith(suffix) and not f.startswith('.'))
    pairs = []
    for name in names:
        gt_path = osp.join(gt_dir, name + gt_suffix)
        pairs.append((name, osp.join(pred_dir, name + suffix),
                      gt_path if osp.isfile(gt_path) else None))
    return pairs


def label_file_name(img_path: str,
                    img_root: Optional[str] = None,
                    suffix: str = '.png') -> str:
    """Relative file name of an image's label map.

    The image path relative to ``img_root`` (sub-folders kept) with its
    extension replaced by ``suffix``; the bare file name when ``img_root``
    is None or does not contain the image. This matches how mmseg datasets
    look up ``seg_map_path`` (``<img name><seg_map_suffix>``), so a
    directory of pseudo labels can replace a dataset's ground truth.

    Args:
        img_path (str): Path of the image.
        img_root (str, optional): The dataset's image directory.
        suffix (str): Suffix of the label file.

    Returns:
        str: e.g. ``'2007_000032.png'``.
    """
    rel = None
    if img_root:
        rel = osp.relpath(img_path, img_root)
        if rel.startswith('..'):
            rel = None
    if rel is None:
        rel = osp.basename(img_path)
    return osp.splitext(rel)[0] + suffix
