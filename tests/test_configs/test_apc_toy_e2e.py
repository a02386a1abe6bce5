"""End-to-end run of the APC toy config (slow): a few training iterations
through the stock runner path on a freshly generated toy dataset, with the
frozen warm-up, the unfreezing hook, the L_seg warm-up, validation, and a
pseudo-mask test with label merging and the dense CRF."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import wsss_mmseg  # noqa: F401
from wsss_mmseg.engine.runners import build_runner

REPO = Path(__file__).resolve().parents[2]


def _short(cfg: Config, work_dir: Path, iters: int) -> Config:
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[0]['end'] = iters
    cfg.custom_hooks[0]['unfreeze_iter'] = 2
    cfg.model.train_cfg.seg_loss_warmup_iters = 2
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = iters
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    cfg.launcher = 'none'
    return cfg


@pytest.mark.slow
def test_apc_toy_train_val_and_pseudo_mask_test(tmp_path, monkeypatch):
    subprocess.run([
        sys.executable,
        str(REPO / 'tools/dataset_converters/make_toy_dataset.py'),
        '--out-dir', str(tmp_path / 'data' / 'toy'), '--num-train-aug', '8',
        '--num-train', '4', '--num-val', '4'
    ], check=True, capture_output=True)
    monkeypatch.chdir(tmp_path)

    cfg = _short(
        Config.fromfile(REPO / 'configs/apc/apc_vit-tiny_toy.py'),
        tmp_path / 'work', iters=4)
    runner = build_runner(cfg)
    runner.train()
    model = runner.model
    assert int(model.train_iter) == 4
    # the hook unfroze the blocks, final norm and patch embedding at
    # iteration 2; the (random) position embedding and CLS token stay fixed
    frozen = {n for n, p in model.backbone.named_parameters()
              if not p.requires_grad}
    assert frozen == {'pos_embed', 'cls_token'}
    scalars = (tmp_path / 'work').rglob('scalars.json')
    log = '\n'.join(p.read_text() for p in scalars)
    assert '"mIoU"' in log and '"loss_pcl"' in log and '"loss_seg"' in log
    ckpt = tmp_path / 'work' / 'iter_4.pth'
    assert ckpt.is_file()

    # pseudo masks on the labelled train split: patch map + label merging +
    # dense CRF (ViT-PCM parameters)
    cfg = _short(
        Config.fromfile(REPO / 'configs/apc/apc_vit-tiny_toy_pseudo-mask.py'),
        tmp_path / 'test', iters=4)
    cfg.load_from = str(ckpt)
    cfg.model.test_cfg.crf = True
    metrics = build_runner(cfg).test()
    assert 0 <= metrics['mIoU'] <= 100
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert 'train_iter' in state['state_dict']
