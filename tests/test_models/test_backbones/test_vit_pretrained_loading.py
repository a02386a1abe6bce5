"""APC's ViT backbone loads an mmpretrain classifier checkpoint completely
(prefix 'backbone.'), and resizes the 24x24 position embeddings to 60x60.

The checkpoint is written by the test with mmpretrain's key layout
(``backbone.*`` + ``head.*`` of an ``ImageClassifier``), so nothing is
downloaded.
"""
import torch
from mmengine.config import Config
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from wsss_mmseg.registry import MODELS
from wsss_mmseg.utils import register_all_modules

register_all_modules()

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)


def write_classifier_checkpoint(path):
    """A ViT classifier checkpoint at 384 px (24 x 24 grid), random values."""
    torch.manual_seed(1)
    vit = VisionTransformer(arch=TINY_VIT, img_size=384, patch_size=16)
    state = {}
    for key, value in vit.state_dict().items():
        state[f'backbone.{key}'] = torch.randn_like(value)
    state['head.layers.head.weight'] = torch.randn(1000, 32)
    state['head.layers.head.bias'] = torch.randn(1000)
    torch.save({'state_dict': state, 'meta': {}}, path)
    return {k[len('backbone.'):]: v for k, v in state.items()
            if k.startswith('backbone.')}


def build(path, img_size):
    cfg = Config.fromfile('configs/_base_/models/apc_vitb16.py').model
    assert cfg.backbone.init_cfg.prefix == 'backbone.'
    assert cfg.backbone.init_cfg.checkpoint.startswith(
        'https://download.openmmlab.com/mmclassification/v0/vit/')
    cfg.backbone.update(arch=TINY_VIT, img_size=img_size, out_indices=(0, 1))
    cfg.backbone.init_cfg.checkpoint = str(path)
    cfg.neck.update(in_channels=32, hidden_channels=8)
    cfg.patch_head.update(in_channels=32)
    cfg.decode_head.update(in_channels=[32, 32], in_index=[0, 1])
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_every_backbone_key_loads(tmp_path):
    path = tmp_path / 'vit.pth'
    saved = write_classifier_checkpoint(path)
    model = build(path, 384)
    loaded = model.backbone.state_dict()
    assert set(loaded) == set(saved), 'keys missing or unexpected'
    assert len(saved) > 20
    for key, value in saved.items():
        torch.testing.assert_close(loaded[key], value, msg=key)


def test_pos_embed_resized_24_to_60(tmp_path):
    path = tmp_path / 'vit.pth'
    saved = write_classifier_checkpoint(path)
    model = build(path, 960)
    pos = model.backbone.pos_embed
    assert pos.shape == (1, 60 * 60 + 1, 32)
    expected = resize_pos_embed(saved['pos_embed'], (24, 24), (60, 60),
                                'bicubic', 1)
    torch.testing.assert_close(pos.data, expected)
    torch.testing.assert_close(pos.data[:, 0], saved['pos_embed'][:, 0])
    for key, value in saved.items():
        if key != 'pos_embed':
            torch.testing.assert_close(
                model.backbone.state_dict()[key], value, msg=key)


def test_384_model_runs_at_960_with_bicubic_resize(tmp_path):
    path = tmp_path / 'vit.pth'
    write_classifier_checkpoint(path)
    model = build(path, 384).eval()
    assert model.backbone.interpolate_mode == 'bicubic'
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 960, 960))
    assert feats[-1].shape == (1, 32, 60, 60)
