"""Label-map evaluation: confusion matrix, IoU, files, PseudoLabelMetric."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from wsss_mmseg.apis.label_io import write_label_png
from wsss_mmseg.evaluation import (PseudoLabelMetric, confusion_matrix,
                                   evaluate_label_files, format_iou_table,
                                   label_file_name, metrics_from_confusion,
                                   pair_label_dirs, read_label_map)


def test_confusion_matrix_hand_case():
    gt = np.array([[0, 0, 1], [1, 2, 255]])
    pred = np.array([[0, 1, 1], [255, 2, 0]])
    conf = confusion_matrix(pred, gt, num_classes=3)
    # rows gt, cols pred + "outside" column; the gt-255 pixel is ignored
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    np.testing.assert_array_equal(conf, expected)
    m = metrics_from_confusion(conf)
    # IoU_0 = 1 / (2 + 1 - 1); IoU_1 = 1 / (2 + 2 - 1); IoU_2 = 1
    np.testing.assert_allclose(m['IoU'], [0.5, 1 / 3, 1.0])
    assert m['mIoU'] == pytest.approx((0.5 + 1 / 3 + 1) / 3)
    assert m['aAcc'] == pytest.approx(3 / 5)


def test_absent_class_is_nan_and_left_out_of_mean():
    conf = confusion_matrix(np.zeros((2, 2)), np.zeros((2, 2)), 3)
    m = metrics_from_confusion(conf)
    assert m['IoU'][0] == 1 and np.isnan(m['IoU'][1:]).all()
    assert m['mIoU'] == 1
    assert 'nan' in format_iou_table(m, ['bg', 'a', 'b'])


def test_matches_mmseg_iou_metric():
    rng = np.random.RandomState(0)
    gts = [rng.randint(0, 4, (9, 7)) for _ in range(3)]
    preds = [rng.randint(0, 4, (9, 7)) for _ in range(3)]
    gts[0][0, :] = 255
    conf = sum(confusion_matrix(p, g, 4) for p, g in zip(preds, gts))
    ours = metrics_from_confusion(conf)
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=['a', 'b', 'c', 'd'])
    samples = [
        dict(
            pred_sem_seg=dict(data=torch.from_numpy(p)[None]),
            gt_sem_seg=dict(data=torch.from_numpy(g)[None]))
        for p, g in zip(preds, gts)
    ]
    metric.process({}, samples)
    theirs = metric.compute_metrics(metric.results)
    assert 100 * ours['mIoU'] == pytest.approx(theirs['mIoU'], abs=0.01)
    assert 100 * ours['aAcc'] == pytest.approx(theirs['aAcc'], abs=0.01)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match='differ'):
        confusion_matrix(np.zeros((2, 3)), np.zeros((3, 2)), 2)


def test_files_missing_gt_reported_rest_evaluated(tmp_path):
    pred_dir, gt_dir = tmp_path / 'pred', tmp_path / 'gt'
    pred_dir.mkdir()
    gt_dir.mkdir()
    label = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    for name in ('a', 'b', 'c'):
        write_label_png(str(pred_dir / f'{name}.png'), label)
    write_label_png(str(gt_dir / 'a.png'), label)
    write_label_png(str(gt_dir / 'b.png'), np.zeros((2, 2), np.uint8))
    pairs = pair_label_dirs(str(pred_dir), str(gt_dir))
    assert [p[0] for p in pairs] == ['a', 'b', 'c'] and pairs[2][2] is None
    conf, missing_gt, missing_pred = evaluate_label_files(pairs, 3)
    assert missing_gt == ['c'] and missing_pred == []
    assert conf.sum() == 8
    np.testing.assert_array_equal(read_label_map(str(pred_dir / 'a.png')),
                                  label)


def test_label_file_name():
    assert label_file_name('/d/JPEGImages/x/1.jpg', '/d/JPEGImages') == \
        'x/1.png'
    assert label_file_name('/d/JPEGImages/1.jpg', '/other') == '1.png'
    assert label_file_name('/d/1.jpg', None, '.npz') == '1.npz'


def _sample(gt, img_path, pred=None):
    ds = SegDataSample(metainfo=dict(img_path=img_path))
    if gt is not None:
        ds.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    if pred is not None:
        ds.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    return ds.to_dict()


def test_pseudo_label_metric_reads_dir_and_reports_missing(tmp_path):
    gt = np.array([[0, 1], [1, 255]])
    write_label_png(str(tmp_path / 'a.png'),
                    np.array([[0, 1], [255, 1]], np.uint8))
    metric = PseudoLabelMetric(pred_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=['bg', 'fg'])
    metric.process({}, [
        _sample(gt, '/img/a.jpg'),
        _sample(gt, '/img/missing.jpg'),
        _sample(None, '/img/a.jpg')
    ])
    res = metric.compute_metrics(metric.results)
    # bg IoU 1/1; fg: 1 hit, 1 unsure (255) miss -> 1/2
    assert res['mIoU'] == pytest.approx(75.0)
    assert res['num_evaluated'] == 1 and res['num_missing'] == 2


def test_pseudo_label_metric_from_predictions():
    gt = np.array([[0, 1], [1, 1]])
    metric = PseudoLabelMetric()
    metric.dataset_meta = dict(classes=['bg', 'fg'])
    metric.process({}, [_sample(gt, 'a.jpg', pred=gt)])
    assert metric.compute_metrics(metric.results)['mIoU'] == 100.0
    empty = PseudoLabelMetric(pred_dir='/nonexistent')
    empty.dataset_meta = dict(classes=['bg', 'fg'])
    empty.process({}, [_sample(gt, 'a.jpg')])
    with pytest.raises(ValueError, match='no image had both'):
        empty.compute_metrics(empty.results)


def test_pseudo_label_metric_in_evaluator_replacing_iou_metric(tmp_path):
    from mmengine.evaluator import Evaluator
    write_label_png(str(tmp_path / 'a.png'), np.array([[0, 1], [1, 1]],
                                                      np.uint8))
    evaluator = Evaluator(
        dict(type='wsss_mmseg.PseudoLabelMetric', iou_metrics=['mIoU'],
             pred_dir=str(tmp_path)))
    evaluator.dataset_meta = dict(classes=['bg', 'fg'])
    gt = np.array([[0, 1], [0, 1]])
    evaluator.process([_as_sample(gt, '/x/a.jpg')])
    res = evaluator.evaluate(1)
    # bg: 1 / 2, fg: 2 / 3
    assert res['pseudo_label/mIoU'] == pytest.approx(
        100 * (1 / 2 + 2 / 3) / 2, abs=0.01)
    with pytest.raises(ValueError, match='mIoU only'):
        PseudoLabelMetric(iou_metrics=['mDice'])


def _as_sample(gt, img_path):
    ds = SegDataSample(metainfo=dict(img_path=img_path))
    ds.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    return ds
