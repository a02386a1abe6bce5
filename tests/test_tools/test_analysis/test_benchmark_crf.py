"""tools/analysis/benchmark_crf.py on a handful of small images."""
import os.path as osp
import sys

import numpy as np
import pytest

TOOLS = osp.join(osp.dirname(__file__), '..', '..', '..', 'tools', 'analysis')
sys.path.insert(0, osp.abspath(TOOLS))
import benchmark_crf  # noqa: E402


def test_inputs_have_the_requested_present_classes():
    images, scores = benchmark_crf.make_inputs(4, 64, 21, present=3)
    assert images[0].dtype == np.uint8 and images[0].shape[2] == 3
    for s in scores:
        assert s.shape[0] == 21
        assert (s.reshape(21, -1).any(1)).sum() == 3
        np.testing.assert_allclose(s.sum(0), 1, atol=1e-5)


@pytest.mark.slow
def test_both_subjects_report_identical_outputs(capsys):
    benchmark_crf.main(['--num-images', '4', '--size', '48', '--repeats',
                        '1', '--n-iter', '2'])
    out = capsys.readouterr().out
    assert 'dense_crf_batch(num_workers=N)' in out
    assert 'PseudoLabelGenerator(crf_workers=N' in out
    assert out.count('2 workers vs 1:') == 2
    rows = [line.split() for line in out.splitlines()
            if line.split()[:1] in (['1'], ['2']) and 'vs' not in line]
    assert len(rows) == 4 and all(r[-1] == 'True' for r in rows)
