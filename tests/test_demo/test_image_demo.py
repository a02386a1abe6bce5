"""demo/image_demo.py on the toy CAM model through mmseg's inference API."""
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'cam', 'cam_resnet-tiny_toy.py')


@pytest.fixture
def checkpoint(tmp_path):
    """A random-init toy CAM checkpoint with its dataset meta."""
    import wsss_mmseg  # noqa: F401
    from mmseg.apis import init_model
    model = init_model(Config.fromfile(CONFIG), None, device='cpu')
    path = str(tmp_path / 'toy.pth')
    meta = dict(dataset_meta=dict(
        classes=('background', 'disc', 'block', 'triangle', 'ring', 'cross'),
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                 [0, 0, 128], [128, 0, 128]]))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


def test_image_demo_writes_overlay(tmp_path, checkpoint):
    image = (np.random.RandomState(0).rand(96, 112, 3) * 255).astype(np.uint8)
    img_path = str(tmp_path / 'img.jpg')
    mmcv.imwrite(image, img_path)
    out = str(tmp_path / 'out' / 'overlay.png')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'demo', 'image_demo.py'), img_path,
         CONFIG, checkpoint, '--out-file', out, '--device', 'cpu'],
        capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'classes found' in proc.stdout
    result = mmcv.imread(out)
    assert result.shape == image.shape


def test_overlay_rejects_label_without_colour():
    sys.path.insert(0, osp.join(REPO, 'demo'))
    try:
        from image_demo import overlay
    finally:
        sys.path.pop(0)
    image = np.zeros((4, 4, 3), np.uint8)
    labels = np.full((4, 4), 3)
    with pytest.raises(ValueError, match='no palette colour'):
        overlay(image, labels, [[0, 0, 0], [255, 0, 0]])
    blended = overlay(image, np.ones((4, 4), int), [[0, 0, 0], [255, 0, 0]],
                      opacity=1.0)
    assert (blended[..., 2] == 255).all() and (blended[..., 0] == 0).all()
