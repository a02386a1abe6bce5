"""A separate mmseg project that uses wsss_mmseg, as a downstream user would.

Two ways, both trained for a few iterations with our ``tools/train.py`` from
the downstream project's own directory:

1. inheritance: ``_base_ = ['wsss_mmseg::apc/apc_vit-tiny_toy.py']``;
2. an mmseg-scope config (``default_scope='mmseg'``) that loads the plugin
   with ``custom_imports`` and names our types ``wsss_mmseg.<Name>``
   (``wsss_mmseg.APCSegmentor``, ``wsss_mmseg.AdaptiveKPatchHead``, ...).
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO, 'tools', 'train.py')
TOY_APC = osp.join(REPO, 'configs', 'apc', 'apc_vit-tiny_toy.py')

SHORT = textwrap.dedent("""
    train_cfg = dict(max_iters=2, val_interval=2)
    param_scheduler = []
    train_dataloader = dict(batch_size=2, num_workers=0,
                            persistent_workers=False)
    val_dataloader = dict(num_workers=0, persistent_workers=False)
    test_dataloader = val_dataloader
    default_hooks = dict(logger=dict(interval=1),
                         checkpoint=dict(interval=2))
    custom_hooks = []
    """)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """A downstream project dir with a small toy dataset in data/toy."""
    root = tmp_path_factory.mktemp('downstream')
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'make_toy_dataset.py'),
        '--out-dir', str(root / 'data' / 'toy'), '--num-train-aug', '8',
        '--num-train', '4', '--num-val', '4'
    ], check=True, capture_output=True)
    (root / 'configs').mkdir()
    return root


def _train(project, config):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir',
         str(project / 'work' / osp.basename(config)[:-3])],
        cwd=project, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _our_types():
    import wsss_mmseg  # noqa: F401
    from wsss_mmseg import registry
    names = set()
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'METRICS'):
        names.update(getattr(registry, name).module_dict)
    return names


def _prefix_our_types(obj, ours):
    """Return ``obj`` with every ``type`` of ours written ``wsss_mmseg.X``."""
    if isinstance(obj, dict):
        out = {k: _prefix_our_types(v, ours) for k, v in obj.items()}
        if isinstance(out.get('type'), str) and out['type'] in ours:
            out['type'] = 'wsss_mmseg.' + out['type']
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_prefix_our_types(v, ours) for v in obj)
    return obj


@pytest.mark.slow
def test_inherit_with_package_prefix(project):
    config = project / 'configs' / 'my_apc.py'
    config.write_text("_base_ = ['wsss_mmseg::apc/apc_vit-tiny_toy.py']\n" +
                      SHORT)
    log = _train(project, str(config))
    assert 'Iter(train) [2/2]' in log
    assert (project / 'work' / 'my_apc' / 'iter_2.pth').exists()


@pytest.mark.slow
def test_mmseg_scope_config_with_custom_imports(project):
    from mmengine.config import Config
    ours = _our_types()
    assert {'APCSegmentor', 'AdaptiveKPatchHead'} <= ours
    cfg = Config.fromfile(TOY_APC).to_dict()
    keep = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
            'val_evaluator', 'test_evaluator', 'optim_wrapper', 'train_cfg',
            'val_cfg', 'test_cfg', 'default_hooks', 'env_cfg', 'log_processor',
            'visualizer', 'log_level', 'load_from', 'resume')
    downstream = {k: _prefix_our_types(cfg[k], ours) for k in keep if k in cfg}
    assert downstream['model']['type'] == 'wsss_mmseg.APCSegmentor'
    assert downstream['model']['patch_head']['type'] == \
        'wsss_mmseg.AdaptiveKPatchHead'
    downstream.update(
        default_scope='mmseg',
        custom_imports=dict(imports=['wsss_mmseg'],
                            allow_failed_imports=False))
    merged = Config(downstream)
    merged.merge_from_dict({
        'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
        'param_scheduler': [], 'custom_hooks': [],
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2
    })
    body = merged.pretty_text
    assert "default_scope = 'mmseg'" in body.replace('"', "'")
    config = project / 'configs' / 'mmseg_scope_apc.py'
    config.write_text(body)
    log = _train(project, str(config))
    assert 'Iter(train) [2/2]' in log
