"""LabelWriter: the engine's CRF / post-processing / writing stage."""
import numpy as np
import pytest
import torch
from PIL import Image

from wsss_mmseg.apis.label_writer import LabelWriter, finish_image
from wsss_mmseg.models.ops.dense_crf import compact_channels


def argmax(scores, info):
    return scores.argmax(0)


def job(tmp_path, i, scores=None):
    if scores is None:
        scores = np.zeros((4, 6, 5), np.float32)
        scores[i % 4] = 1
    return dict(scores=(*compact_channels(scores), len(scores)),
                info=dict(img_path=f'img{i}.jpg', name=f'{i}.png'),
                png=str(tmp_path / f'{i}.png'), npz=None)


STATE = dict(crf=None, postprocess=argmax, score_dtype='float16')


@pytest.mark.parametrize('workers', [0, 2])
def test_results_in_submission_order(tmp_path, workers):
    done = []
    with LabelWriter(STATE, workers, done.append, max_pending=2) as writer:
        for i in range(7):
            writer.submit(job(tmp_path, i))
            assert len(writer.pending) < 2
    assert [d['name'] for d in done] == [f'{i}.png' for i in range(7)]
    for i in range(7):
        assert (np.array(Image.open(tmp_path / f'{i}.png')) == i % 4).all()


def test_pool_caps_and_restores_threads(tmp_path, monkeypatch):
    import os
    monkeypatch.setattr(os, 'cpu_count', lambda: 4)
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        with LabelWriter(STATE, 3, lambda r: None):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 4
        with LabelWriter(STATE, 1, lambda r: None, world_size=2):
            assert torch.get_num_threads() == 1  # 4 // 2 - 1
        with LabelWriter(STATE, 0, lambda r: None):
            assert torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)


def test_error_names_the_image(tmp_path):
    bad = job(tmp_path, 3)
    bad['info']['img_path'] = 'broken.jpg'
    bad['png'] = str(tmp_path / 'missing_dir' / 'x.png')
    with pytest.raises(RuntimeError, match='broken.jpg'):
        finish_image(bad, STATE)
    with pytest.raises(RuntimeError, match='broken.jpg'):
        with LabelWriter(STATE, 2, lambda r: None) as writer:
            writer.submit(bad)
