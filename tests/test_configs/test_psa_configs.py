"""PSA configs: the authors' optimiser recipe from the config alone, the
stage wiring (CAM network of the AffinityNet configs, post-processors) and
the pipeline script."""
import os.path as osp
import subprocess

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import wsss_mmseg  # noqa: F401
from wsss_mmseg.apis import build_label_postprocessor
from wsss_mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PSA = osp.join(REPO, 'configs', 'psa')


def _cfg(name):
    return Config.fromfile(osp.join(PSA, name))


def _groups(model, optim_wrapper):
    init_default_scope('wsss_mmseg')
    wrapper = build_optim_wrapper(model, optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            if p.requires_grad:
                out[names[id(p)]] = (group['lr'], group['weight_decay'],
                                     group['momentum'])
    return out


@pytest.mark.parametrize('name,new_mult', [('psa-cam_resnet38_voc.py', 10),
                                           ('psa-cam_resnet38-tiny_toy.py',
                                            1)])
def test_four_parameter_groups(name, new_mult):
    # VOC: the authors' groups; toy (from scratch): new layers at 1x
    cfg = _cfg(name)
    base_lr = cfg.optim_wrapper.optimizer.lr
    # a tiny CAM net whose backbone (VGG) and classifier have biases, so
    # all four of the authors' groups are populated
    model = MODELS.build(
        dict(type='CAMSegmentor',
             backbone=dict(type='VGG16LargeFOV',
                           arch=dict(channels=[4, 4, 8, 8, 8],
                                     fc_channels=8), out_indices=(2, )),
             decode_head=dict(type='CAMHead', in_channels=8, num_classes=4,
                              bias=True)))
    groups = _groups(model, cfg.optim_wrapper)
    wd = 5e-4
    assert groups['backbone.conv3_1.weight'][:2] == (base_lr, wd)
    assert groups['backbone.conv3_1.bias'][:2] == (2 * base_lr, 0.0)
    assert groups['decode_head.classifier.weight'][:2] == pytest.approx(
        (new_mult * base_lr, wd))
    assert groups['decode_head.classifier.bias'][:2] == pytest.approx(
        (2 * new_mult * base_lr, 0.0))
    # frozen first two conv blocks are not optimised
    assert 'backbone.conv1_1.weight' not in groups
    assert all(g[2] == 0.9 for g in groups.values())
    sched = cfg.param_scheduler[0]
    assert sched.type == 'PolyLR' and sched.power == 0.9
    assert sched.end == cfg.train_cfg.max_iters


def test_authors_momentum_variant():
    cfg = _cfg('psa-cam_resnet38_voc_authors-momentum.py')
    assert cfg.optim_wrapper.optimizer.momentum == 0.0005
    assert cfg.optim_wrapper.paramwise_cfg.bias_lr_mult == 2.0


@pytest.mark.parametrize('aff,cam,logt', [
    ('psa-aff_resnet38_voc.py', 'psa-cam_resnet38_voc.py', 8),
    # toy: 16 x 16 grid instead of 56 x 56 -> 16 steps instead of 256
    ('psa-aff_resnet38-tiny_toy.py', 'psa-cam_resnet38-tiny_toy.py', 4),
])
def test_stage_wiring(aff, cam, logt):
    aff_cfg, cam_cfg = _cfg(aff), _cfg(cam)
    assert aff_cfg.model.cam_model == f'configs/psa/{cam}'
    assert (aff_cfg.model.decode_head.num_classes ==
            cam_cfg.model.decode_head.num_classes)
    # same input normalisation in both stages
    for key in ('mean', 'std', 'bgr_to_rgb'):
        assert (aff_cfg.model.data_preprocessor[key] ==
                cam_cfg.model.data_preprocessor[key])
    assert aff_cfg.model.test_cfg.rw_beta == 8.0
    assert aff_cfg.model.test_cfg.rw_logt == logt
    # both stages build the same backbone layout
    for key in ('arch', 'stem_stride', 'residual_scale'):
        assert (aff_cfg.model.backbone.get(key) ==
                cam_cfg.model.backbone.get(key))
    assert aff_cfg.model.test_cfg.rw_bg_alpha == 16.0
    labeler = build_label_postprocessor(cam_cfg.pseudo_label_cfg.postprocess)
    assert (labeler.low_alpha, labeler.high_alpha) == (4.0, 32.0)
    assert cam_cfg.model.test_cfg.scales == (1.0, 0.5, 1.5, 2.0)
    assert cam_cfg.model.test_cfg.flip
    # AffinityNet is not validated while training (needs the CAM stage)
    assert aff_cfg.val_dataloader is None


def test_pipeline_script_usage():
    script = osp.join(REPO, 'tools', 'pipelines', 'psa.sh')
    subprocess.run(['bash', '-n', script], check=True)
    proc = subprocess.run(['bash', script], capture_output=True, text=True)
    assert proc.returncode == 2 and 'usage' in proc.stderr
    proc = subprocess.run(['bash', script, PSA, '/tmp/x', '1', 'nodata'],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and 'psa-cam_*_nodata.py' in proc.stderr


def test_missing_confident_region_png(tmp_path):
    """The AffinityNet dataset names the image whose PNG is missing."""
    from mmengine.registry import init_default_scope
    from PIL import Image

    from wsss_mmseg.registry import DATASETS
    cfg = _cfg('psa-aff_resnet38-tiny_toy.py')
    init_default_scope('wsss_mmseg')
    import sys
    root = tmp_path / 'toy'
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'make_toy_dataset.py'),
        '--out-dir', str(root), '--num-train-aug', '4', '--num-train', '2',
        '--num-val', '2'
    ], check=True, capture_output=True)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(root)
    dataset_cfg.data_prefix.seg_map_path = str(tmp_path)
    dataset = DATASETS.build(dataset_cfg)
    first = dataset.get_data_info(0)['img_id']
    Image.fromarray(
        __import__('numpy').zeros((128, 128), 'uint8')).save(
            tmp_path / f'{first}.png')
    item = dataset[0]  # present: loads, 255 stays unsure
    assert item['data_samples'].gt_sem_seg.data.shape[-2:] == (128, 128)
    second = dataset.get_data_info(1)['img_id']
    with pytest.raises(FileNotFoundError, match=f'{second}.png'):
        dataset.prepare_data(1)
