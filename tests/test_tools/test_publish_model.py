"""tools/misc/publish_model.py: slim checkpoints for the model zoo."""
import hashlib
import importlib.util
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import save_checkpoint

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'publish_model.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('publish_model', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _training_checkpoint(path):
    """A checkpoint like mmengine's CheckpointHook writes (HistoryBuffer)."""
    model = torch.nn.Conv2d(3, 4, 3)
    hub = MessageHub.get_instance('publish_model_test')
    hub.update_scalar('train/loss', 0.5)
    ckpt = dict(
        meta=dict(
            iter=np.int64(10),
            dataset_meta=dict(classes=('bg', 'a'), palette=[[0, 0, 0]]),
            seed=np.int32(0)),
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1).state_dict())
    save_checkpoint(ckpt, path)
    return model


def test_publish_loads_with_weights_only(tmp_path):
    src = str(tmp_path / 'iter_10.pth')
    model = _training_checkpoint(src)
    with pytest.raises(Exception):
        # the reason for the tool: torch's safe loader refuses the original
        torch.load(src, weights_only=True)
    out = subprocess.run(
        [sys.executable, SCRIPT, src,
         str(tmp_path / 'zoo' / 'model.pth')],
        capture_output=True, text=True, check=True)
    final = out.stdout.strip().split()[-1]
    name = osp.basename(final)
    assert name.startswith('model-') and name.endswith('.pth')
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == name[6:14]
    loaded = torch.load(final, weights_only=True)
    assert set(loaded) == {'state_dict', 'meta'}
    assert loaded['meta']['iter'] == 10
    assert loaded['meta']['dataset_meta']['classes'] == ('bg', 'a')
    for key, value in model.state_dict().items():
        assert torch.equal(loaded['state_dict'][key], value)


def test_publish_rejects_non_checkpoint(tmp_path):
    src = str(tmp_path / 'bad.pth')
    torch.save([1, 2, 3], src)
    with pytest.raises(ValueError, match='expected a checkpoint dict'):
        _load_tool().publish(src, str(tmp_path / 'out.pth'))
