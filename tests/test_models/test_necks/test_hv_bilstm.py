"""HVBiLSTM neck: shapes, row/column structure, sequence dropout."""
import pytest
import torch

from wsss_mmseg.models.necks import HVBiLSTM
from wsss_mmseg.models.necks.hv_bilstm import sequence_dropout


def test_shapes_and_tuple_input():
    neck = HVBiLSTM(in_channels=8, hidden_channels=4, dropout=0.2)
    x = torch.rand(2, 8, 5, 7)
    out = neck((torch.rand(2, 8, 5, 7), x))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 16, 5, 7)
    assert neck.out_channels == 16


def test_rows_and_columns_are_independent_sequences():
    torch.manual_seed(0)
    neck = HVBiLSTM(in_channels=4, hidden_channels=3, dropout=0.0).eval()
    x = torch.rand(1, 4, 3, 5)
    y = x.clone()
    y[0, :, 0, 0] += 1.0  # change the top-left patch only
    out_x, out_y = neck(x)[0], neck(y)[0]
    diff_h = (out_x[:, :6] - out_y[:, :6]).abs().sum(1)[0]  # horizontal
    diff_v = (out_x[:, 6:] - out_y[:, 6:]).abs().sum(1)[0]  # vertical
    # the horizontal branch only sees row 0, the vertical only column 0
    assert diff_h[0].gt(0).all() and diff_h[1:].eq(0).all()
    assert diff_v[:, 0].gt(0).all() and diff_v[:, 1:].eq(0).all()


def test_sequence_dropout_one_mask_per_sequence():
    torch.manual_seed(0)
    x = torch.ones(6, 10, 32)
    out = sequence_dropout(x, 0.5, training=True)
    # every step of a sequence drops the same features
    assert torch.equal(out, out[:, :1].expand_as(out))
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(sequence_dropout(x, 0.5, training=False), x)


def test_bad_input():
    neck = HVBiLSTM(in_channels=8, hidden_channels=4)
    with pytest.raises(ValueError, match=r'expects \(B, 8, H, W\)'):
        neck(torch.rand(1, 6, 3, 3))
    with pytest.raises(ValueError, match='dropout'):
        HVBiLSTM(in_channels=8, dropout=1.0)
