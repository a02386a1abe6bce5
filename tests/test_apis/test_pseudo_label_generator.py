"""The pseudo-label engine, in process (tiny model + tiny dataset)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import pl_testkit as kit
from wsss_mmseg.apis import (SUMMARY_FILE, ConfidenceThresholdLabeler,
                             PseudoLabelGenerator, build_label_postprocessor,
                             encode_label_png, is_complete_png, voc_palette)
from wsss_mmseg.evaluation import confusion_matrix, metrics_from_confusion
from wsss_mmseg.registry import MODELS, TASK_UTILS


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return kit.make_tiny_voc(str(tmp_path_factory.mktemp('tinyvoc')))


def build_model(**kwargs):
    return MODELS.build(kit.model_cfg(**kwargs))


def run(out_dir, data_root, model=None, split='train', **kwargs):
    kwargs.setdefault('crf_workers', 0)
    kwargs.setdefault('progress', False)
    gen = PseudoLabelGenerator(str(out_dir), **kwargs)
    return gen.run(model or build_model(), kit.dataset_cfg(data_root, split))


def test_writes_palette_pngs_summary_and_matching_miou(tmp_path, data_root):
    summary = run(tmp_path, data_root)
    names = [f'img_{i:03d}.png' for i in range(6)]
    assert sorted(f for f in os.listdir(tmp_path)
                  if f.endswith('.png')) == names
    conf = 0
    for name in names:
        img = Image.open(tmp_path / name)
        assert img.mode == 'P'
        assert np.array(img.getpalette()[:6]) .tolist() == \
            voc_palette()[:2].ravel().tolist()
        gt = np.array(Image.open(osp.join(data_root, 'SegmentationClass',
                                          name)))
        assert np.array(img).shape == gt.shape
        conf = conf + confusion_matrix(np.array(img), gt, 4)
    on_disk = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert on_disk['written'] == 6 and on_disk['skipped'] == 0
    assert on_disk['num_images'] == 6 and on_disk['world_size'] == 1
    assert summary['evaluation']['mIoU'] == pytest.approx(
        100 * metrics_from_confusion(conf)['mIoU'], abs=1e-3)
    assert summary['evaluation']['num_evaluated'] == 6
    assert summary['evaluation']['IoU']['red'] is not None


def test_restriction_to_image_labels(tmp_path, data_root):
    # a model that calls the grey background 'blue'
    model = build_model()
    model.protos[3] = model.protos[0]
    model.protos[0] = 2.0
    run(tmp_path / 'restricted', data_root, model)
    run(tmp_path / 'free', data_root, model, use_img_labels=False)
    # img_000 has only class 1 (red): blue must not appear when restricted
    restricted = np.array(Image.open(tmp_path / 'restricted/img_000.png'))
    free = np.array(Image.open(tmp_path / 'free/img_000.png'))
    assert 3 not in np.unique(restricted)
    assert 3 in np.unique(free)
    assert model.test_cfg == {}  # overrides are restored


def test_resume_skips_complete_and_rewrites_truncated(tmp_path, data_root):
    run(tmp_path, data_root)
    stats = {f: os.stat(tmp_path / f) for f in os.listdir(tmp_path)
             if f.endswith('.png')}
    data = (tmp_path / 'img_002.png').read_bytes()
    (tmp_path / 'img_002.png').write_bytes(data[:len(data) // 2])
    os.remove(tmp_path / 'img_004.png')
    (tmp_path / '.img_005.png.tmp-123-abc').write_bytes(b'partial')
    assert not is_complete_png(str(tmp_path / 'img_002.png'))
    summary = run(tmp_path, data_root)
    assert summary['written'] == 2 and summary['skipped'] == 4
    assert sorted(summary['ranks'][0]['written_names']) == [
        'img_002.png', 'img_004.png'
    ]
    for name, st in stats.items():
        new = os.stat(tmp_path / name)
        if name in ('img_002.png', 'img_004.png'):
            assert is_complete_png(str(tmp_path / name))
        else:
            assert (new.st_ino, new.st_mtime_ns) == (st.st_ino,
                                                      st.st_mtime_ns)
    assert not any('.tmp-' in f for f in os.listdir(tmp_path))
    again = run(tmp_path, data_root, resume=False)
    assert again['written'] == 6


def test_scores_file_and_crf_pool(tmp_path, data_root):
    summary = run(tmp_path, data_root, crf=dict(n_iter=3), crf_workers=2,
                  save_scores=True)
    assert summary['settings']['crf']['n_iter'] == 3
    with np.load(tmp_path / 'img_001.npz') as f:
        scores, classes = f['scores'], f['classes']
    # img_001 holds classes 2 and 3 -> background + both
    assert classes.tolist() == [0, 2, 3]
    assert scores.dtype == np.float16 and scores.shape == (3, 40, 48)
    # pool and in-process give the same labels
    run(tmp_path / 'inline', data_root, crf=dict(n_iter=3), crf_workers=0)
    for i in range(6):
        a = np.array(Image.open(tmp_path / f'img_{i:03d}.png'))
        b = np.array(Image.open(tmp_path / f'inline/img_{i:03d}.png'))
        np.testing.assert_array_equal(a, b)
    # removing a score file makes the image incomplete again
    os.remove(tmp_path / 'img_003.npz')
    again = run(tmp_path, data_root, crf=dict(n_iter=3), save_scores=True)
    assert again['ranks'][0]['written_names'] == ['img_003.png']


def test_parent_threads_capped_while_the_pool_runs(tmp_path, data_root,
                                                   monkeypatch):
    monkeypatch.setattr(os, 'cpu_count', lambda: 4)
    model, seen = build_model(), []
    predict = model.test_step

    def recording_test_step(batch):
        seen.append(torch.get_num_threads())
        return predict(batch)

    model.test_step = recording_test_step
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        run(tmp_path, data_root, model, crf_workers=2)
        assert set(seen) == {2}  # 4 cores - 2 pool processes
        seen.clear()
        run(tmp_path / 'b', data_root, model, crf_workers=0)
        assert set(seen) == {3}  # no pool: untouched
        assert torch.get_num_threads() == 3  # restored
    finally:
        torch.set_num_threads(before)


def test_model_crf_setting_used_once(tmp_path, data_root):
    model = build_model(crf=dict(n_iter=2))
    summary = run(tmp_path, data_root, model)
    assert summary['settings']['crf']['n_iter'] == 2
    assert model.test_cfg['crf'] == dict(n_iter=2)
    with pytest.raises(KeyError, match='unknown CRF parameters'):
        run(tmp_path / 'x', data_root, crf=dict(iters=3))


def test_confident_region_postprocessor(tmp_path, data_root):
    summary = run(
        tmp_path, data_root,
        postprocess=dict(type='ConfidenceThresholdLabeler', threshold=0.999))
    labels = np.array(Image.open(tmp_path / 'img_000.png'))
    assert 255 in labels and set(np.unique(labels)) <= {0, 1, 255}
    # unsure pixels count as misses of their ground-truth class
    assert summary['evaluation']['mIoU'] < 100
    assert summary['settings']['postprocess'] == 'ConfidenceThresholdLabeler'


def test_postprocessor_forms():
    scores = np.zeros((3, 2, 2), np.float32)
    scores[1] = 1
    assert build_label_postprocessor(None)(scores, {}).tolist() == \
        [[1, 1], [1, 1]]
    lab = build_label_postprocessor('ConfidenceThresholdLabeler')
    assert isinstance(lab, ConfidenceThresholdLabeler)
    fn = build_label_postprocessor(lambda s, info: s[0].astype(np.uint8))
    assert fn(scores, {}).sum() == 0
    with pytest.raises(KeyError, match='not registered'):
        build_label_postprocessor('NoSuchLabeler')
    with pytest.raises(TypeError, match='must be a dict'):
        build_label_postprocessor(3)

    @TASK_UTILS.register_module(name='pl_test_all_unsure', force=True)
    def all_unsure(scores, info):
        return np.full(scores.shape[1:], 255, np.uint8)

    assert build_label_postprocessor('pl_test_all_unsure')(
        scores, {}).min() == 255


def test_bad_postprocessor_output_names_image(tmp_path, data_root):
    with pytest.raises(RuntimeError, match=r'img_000.*expected \(40, 48\)'):
        run(tmp_path, data_root,
            postprocess=lambda s, info: np.zeros((3, 3), np.uint8))


def test_out_dir_not_writable(tmp_path, data_root):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(PermissionError, match='not writable'):
        run(blocker / 'labels', data_root)


def test_out_dir_permission_denied(tmp_path, data_root, monkeypatch):
    # root ignores chmod; simulate the OS refusing to create files
    import tempfile

    def deny(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(tempfile, 'mkstemp', deny)
    with pytest.raises(PermissionError, match='out dir .* not writable'):
        run(tmp_path / 'labels', data_root)


def test_out_dir_must_not_be_the_ground_truth(data_root):
    with pytest.raises(ValueError, match='ground-truth dir'):
        run(osp.join(data_root, 'SegmentationClass'), data_root)


def test_split_without_labels_when_required(tmp_path, data_root):
    gen = PseudoLabelGenerator(
        str(tmp_path), require_img_labels=True, crf_workers=0,
        progress=False)
    with pytest.raises(ValueError, match=r'img_000.*no image-level labels'):
        gen.run(build_model(),
                kit.dataset_cfg(data_root, 'train', img_labels=False))
    # without the requirement the split is labelled unrestricted
    summary = run(tmp_path / 'ok', data_root, split='train')
    assert summary['written'] == 6


def test_class_count_mismatch(tmp_path, data_root):
    with pytest.raises(ValueError, match='predicts 5 classes .* has 4'):
        run(tmp_path, data_root, build_model(num_classes=5))


def test_missing_ground_truth_reported(tmp_path, data_root):
    import shutil
    root = tmp_path / 'data'
    shutil.copytree(data_root, root)
    os.remove(root / 'SegmentationClass/img_001.png')
    # the pipeline must not load the deleted mask; evaluate against files
    cfg = kit.dataset_cfg(str(root), 'train', img_labels=False,
                          annotations=False)
    gen = PseudoLabelGenerator(str(tmp_path / 'out'), crf_workers=0,
                               progress=False)
    summary = gen.run(build_model(), cfg)
    assert summary['written'] == 6
    ev = summary['evaluation']
    assert ev['missing_gt'] == ['img_001.png']
    assert ev['num_evaluated'] == 5 and ev['mIoU'] is not None


def test_encode_label_png_round_trip():
    import io
    # single-valued maps must keep their index (Pillow remaps palette-less
    # 'P' images on save)
    for value in (0, 4, 15, 255):
        data = encode_label_png(np.full((3, 5), value))
        with Image.open(io.BytesIO(data)) as img:
            assert img.mode == 'P'
            np.testing.assert_array_equal(np.array(img), value)
    label = np.arange(256, dtype=np.uint8).reshape(16, 16)
    with Image.open(io.BytesIO(encode_label_png(label))) as img:
        np.testing.assert_array_equal(np.array(img), label)


def test_encode_label_png_checks():
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        encode_label_png(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r'\[0, 255\]'):
        encode_label_png(np.full((2, 2), 300))


def test_overrides_rejected_for_stock_segmentor(tmp_path, data_root):
    class Stock(torch.nn.Module):
        num_classes = 4
        test_cfg = {}

    gen = PseudoLabelGenerator(str(tmp_path), scales=[1.0, 0.5])
    with pytest.raises(ValueError, match='BaseWeakSegmentor'):
        gen._test_cfg_overrides(Stock())


def test_multiscale_flip_override(tmp_path, data_root):
    model = build_model()
    summary = run(tmp_path, data_root, model, scales=[1.0, 0.5], flip=True,
                  fusion='max')
    assert summary['settings']['scales'] == [1.0, 0.5]
    assert summary['settings']['flip'] is True
    assert summary['evaluation']['mIoU'] > 50
    assert 'scales' not in model.test_cfg


def test_stock_segmentor_logits_are_softmaxed(tmp_path, data_root):
    from mmengine.structures import PixelData

    class StockLike(torch.nn.Module):
        """Mimics a stock mmseg segmentor: seg_logits are raw logits."""
        num_classes = 4

        def test_step(self, batch):
            outs = []
            for ds in batch['data_samples']:
                h, w = ds.metainfo['ori_shape']
                logits = -5 + torch.arange(4.).view(4, 1, 1).expand(4, h, w)
                ds.seg_logits = PixelData(data=logits)
                ds.pred_sem_seg = PixelData(data=logits.argmax(0)[None])
                outs.append(ds)
            return outs

    gen = PseudoLabelGenerator(str(tmp_path), crf_workers=0,
                               progress=False, save_scores=True,
                               use_img_labels=False)
    gen.run(StockLike(), kit.dataset_cfg(data_root, 'train',
                                         img_labels=False))
    with np.load(tmp_path / 'img_000.npz') as f:
        scores = f['scores'].astype(np.float32)
    assert scores.shape[0] == 4
    assert scores.min() >= 0
    np.testing.assert_allclose(scores.sum(0), 1, atol=2e-3)
    assert np.unique(np.array(Image.open(tmp_path / 'img_000.png'))) == [3]
