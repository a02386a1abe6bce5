"""Tests of the stack shims in wsss_mmseg.utils.compat (architecture.md §2).

Each shim is tested twice where possible: that it works, and that the
upstream problem it fixes still exists, so these tests fail loudly when an
upstream release changes the behaviour (then the shim can go).
"""
import importlib
import importlib.machinery
import os.path as osp
import pickle
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import mmcv
import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.registry import DefaultScope, Registry
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import wsss_mmseg
from wsss_mmseg import registry as wsss_registry
from wsss_mmseg.utils import compat

REPO = Path(__file__).resolve().parents[2]


def _requirement_names(name: str) -> dict:
    """``{project name: full line}`` of ``requirements/<name>.txt``."""
    lines = {}
    for line in (REPO / 'requirements' / f'{name}.txt').read_text().split(
            '\n'):
        line = line.split('#', 1)[0].strip()
        if line:
            lines[re.split(r'[<>=!~\[; ]', line, 1)[0].lower()] = line
    return lines


# --------------------------------------------------------------------------
# mmcv.ops stand-in
# --------------------------------------------------------------------------
def test_standin_active_exactly_without_compiled_ops():
    active = compat.mmcv_ops_standin_active()
    assert active == (not compat.has_compiled_mmcv_ops())
    if active:  # mmcv-lite (CPU/CI set): mmseg got the pure PyTorch op
        import mmseg.models.utils.point_sample as mmseg_point_sample
        assert mmseg_point_sample.point_sample is compat.point_sample
        assert sys.modules['mmcv.ops'] is mmcv.ops


def test_has_compiled_mmcv_ops_detects_ext(monkeypatch):
    fake_ext = types.ModuleType('mmcv._ext')
    fake_ext.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
    monkeypatch.setitem(sys.modules, 'mmcv._ext', fake_ext)
    assert compat.has_compiled_mmcv_ops()


def test_standin_not_installed_when_compiled_ops_exist(monkeypatch):
    # Pretend no mmcv.ops has been imported yet.
    monkeypatch.delitem(sys.modules, 'mmcv.ops', raising=False)
    monkeypatch.setattr(mmcv, 'ops', None, raising=False)
    monkeypatch.setattr(compat, 'has_compiled_mmcv_ops', lambda: True)
    assert compat.install_mmcv_ops_standin() is False
    assert 'mmcv.ops' not in sys.modules
    monkeypatch.setattr(compat, 'has_compiled_mmcv_ops', lambda: False)
    assert compat.install_mmcv_ops_standin() is True
    assert compat.mmcv_ops_standin_active()
    assert sys.modules['mmcv.ops'].point_sample is compat.point_sample


def test_standin_other_ops_raise_clear_error():
    module = compat._OpsStandin('mmcv.ops')
    with pytest.raises(
            RuntimeError,
            match=r'mmcv\.ops\.nms: it needs the compiled ops of full mmcv '
            r'\(mmcv==2\.1\.0\).*docs/get_started\.md'):
        module.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    # Classes stay classes: isinstance checks in mmseg keep working.
    assert not isinstance(torch.nn.Conv2d(1, 1, 1), module.DeformConv2d)
    with pytest.raises(RuntimeError, match='mmcv.ops.DeformConv2d'):
        module.DeformConv2d(1, 1, 3)
    with pytest.raises(AttributeError):
        module.__wrapped__


@pytest.mark.parametrize('align_corners', [False, True])
def test_point_sample_matches_reference(align_corners):
    gen = torch.Generator().manual_seed(0)
    feats = torch.rand(2, 3, 5, 7, generator=gen)
    h, w = feats.shape[2:]
    ys, xs = torch.meshgrid(
        torch.arange(h), torch.arange(w), indexing='ij')
    if align_corners:  # corners of the grid are pixel centres
        px, py = xs / (w - 1), ys / (h - 1)
    else:  # pixel i covers [i/w, (i+1)/w)
        px, py = (xs + 0.5) / w, (ys + 0.5) / h
    points = torch.stack([px, py], -1).reshape(1, -1, 2).repeat(2, 1, 1)
    out = compat.point_sample(feats, points, align_corners=align_corners)
    assert out.shape == (2, 3, h * w)
    torch.testing.assert_close(out, feats.flatten(2))
    # Half-way between two horizontally adjacent centres: their mean.
    mid = points[:, :w - 1].clone()
    mid[..., 0] += (points[0, 1, 0] - points[0, 0, 0]) / 2
    torch.testing.assert_close(
        compat.point_sample(feats, mid, align_corners=align_corners),
        (feats[:, :, 0, :-1] + feats[:, :, 0, 1:]) / 2)
    # Grid-shaped points keep their grid shape.
    grid = points.reshape(2, h, w, 2)
    torch.testing.assert_close(
        compat.point_sample(feats, grid, align_corners=align_corners), feats)
    if not compat.mmcv_ops_standin_active():  # full mmcv: agree with it
        from mmcv.ops import point_sample as mmcv_point_sample
        torch.testing.assert_close(
            mmcv_point_sample(feats, points, align_corners=align_corners),
            out)


# --------------------------------------------------------------------------
# trusted local checkpoint loader
# --------------------------------------------------------------------------
@pytest.fixture
def mmengine_checkpoint(tmp_path):
    """A checkpoint shaped like mmengine's: weights + a message hub."""
    model = torch.nn.Linear(3, 2)
    hub = MessageHub('test_compat_ckpt')
    hub.update_scalar('train/loss', 0.5)
    state = hub.state_dict()
    assert isinstance(state['log_scalars']['train/loss'], HistoryBuffer)
    path = tmp_path / 'iter_10.pth'
    torch.save(
        dict(
            meta=dict(iter=10),
            state_dict=model.state_dict(),
            message_hub=state), path)
    return path, model


def test_torch_load_default_refuses_mmengine_checkpoints(mmengine_checkpoint):
    """The problem: torch>=2.6 loads with weights_only=True by default."""
    path, _ = mmengine_checkpoint
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(path)


def test_mmengine_loads_through_trusted_loader(mmengine_checkpoint):
    path, model = mmengine_checkpoint
    assert CheckpointLoader._schemes[''] is compat.load_from_trusted_local
    fresh = torch.nn.Linear(3, 2)
    ckpt = load_checkpoint(fresh, str(path), map_location='cpu')
    assert ckpt['meta']['iter'] == 10
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    torch.testing.assert_close(fresh.weight, model.weight)
    assert _load_checkpoint(str(path))['meta'] == dict(iter=10)


def test_trusted_loader_missing_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        _load_checkpoint(str(missing))


# --------------------------------------------------------------------------
# `wsss_mmseg::` config bases
# --------------------------------------------------------------------------
def _write_child_config(tmp_path: Path, base: str) -> Path:
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{base!r}]\n')
    return path


def test_package_base_resolves(tmp_path):
    cfg = Config.fromfile(
        _write_child_config(tmp_path,
                            'wsss_mmseg::_base_/schedules/schedule_20k.py'))
    assert cfg.train_cfg.max_iters == 20000
    cfg = Config.fromfile(
        _write_child_config(tmp_path, 'wsss_mmseg::_base_/default_runtime.py'))
    assert cfg.default_scope == 'wsss_mmseg'
    # The resolved file is the repository's (editable) or a packaged copy.
    mim = Path(wsss_mmseg.__file__).parent / '.mim'
    assert (mim / 'configs' / '_base_' / 'default_runtime.py').is_file()
    assert (mim / 'model-index.yml').is_file()


def test_package_base_needs_path_shim(tmp_path, monkeypatch):
    """The problem: mmengine looks for an editable package in site-packages.

    Only an editable install shows it; for a regular install mmengine's own
    lookup is right, and both give the same directory.
    """
    from mmengine.config import config as config_module
    from mmengine.utils.package_utils import get_installed_path
    ours = compat.installed_package_path('wsss_mmseg')
    assert ours == osp.dirname(wsss_mmseg.__file__)
    upstream = get_installed_path('wsss_mmseg')
    if osp.isdir(upstream):  # regular install
        assert osp.samefile(upstream, ours)
    else:  # editable install: mmengine alone cannot find the configs
        monkeypatch.setattr(config_module, 'get_installed_path',
                            get_installed_path)
        with pytest.raises(FileNotFoundError, match='model-index.yml'):
            Config.fromfile(
                _write_child_config(tmp_path,
                                    'wsss_mmseg::_base_/default_runtime.py'))


WITHOUT_PLUGIN = textwrap.dedent('''
    import sys
    from mmengine.config import Config
    cfg_file = sys.argv[1]
    try:
        import mmseg.models
        print('MMSEG_MODELS_OK')
    except Exception as e:
        print('MMSEG_MODELS_FAILED', type(e).__name__, e)
    try:
        Config.fromfile(cfg_file)
        print('BASE_OK')
    except Exception as e:
        print('BASE_FAILED', type(e).__name__, e)
    import wsss_mmseg
    import mmseg.models
    print('MMSEG_MODELS_OK_AFTER', Config.fromfile(cfg_file).default_scope)
''')


def test_fresh_interpreter_without_and_with_plugin(tmp_path):
    """Upstream problems in a process that has not imported wsss_mmseg.

    ``import mmseg.models`` fails on mmcv-lite and ``wsss_mmseg::`` bases
    are unknown to mmengine; importing wsss_mmseg fixes both. This is what
    downstream projects must do before parsing configs (README).
    """
    cfg_file = _write_child_config(tmp_path,
                                   'wsss_mmseg::_base_/default_runtime.py')
    proc = subprocess.run(
        [sys.executable, '-c', WITHOUT_PLUGIN,
         str(cfg_file)],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    if compat.has_compiled_mmcv_ops():
        assert 'MMSEG_MODELS_OK' in out
    else:
        assert "MMSEG_MODELS_FAILED ModuleNotFoundError No module named " \
            "'mmcv._ext'" in out, out
    assert 'BASE_FAILED AssertionError mmengine does not support to load ' \
        'wsss_mmseg config' in out, out
    assert 'MMSEG_MODELS_OK_AFTER wsss_mmseg' in out, out


# --------------------------------------------------------------------------
# registries
# --------------------------------------------------------------------------
def test_registries_mirror_mmseg():
    import mmseg.registry as mmseg_registry
    names = [
        name for name, value in vars(mmseg_registry).items()
        if isinstance(value, Registry)
    ]
    assert len(names) >= 21
    for name in names:
        ours = getattr(wsss_registry, name)
        parent = getattr(mmseg_registry, name)
        assert ours.scope == 'wsss_mmseg', name
        assert ours.parent is parent, name
        assert parent._children['wsss_mmseg'] is ours, name
        assert set(parent._locations) <= set(ours._locations), name


def test_mmseg_types_reachable_unprefixed():
    assert wsss_registry.MODELS.get('EncoderDecoder').__module__.startswith(
        'mmseg.')
    assert wsss_registry.TRANSFORMS.get('LoadAnnotations') is not None
    assert wsss_registry.METRICS.get('IoUMetric') is not None
    assert wsss_registry.DATASETS.get('PascalVOCDataset') is not None
    assert wsss_registry.VISUALIZERS.get('SegLocalVisualizer') is not None
    assert wsss_registry.HOOKS.get('SegVisualizationHook') is not None
    assert wsss_registry.LOOPS.get('IterBasedTrainLoop') is not None


def test_our_types_reachable_from_mmseg_scope():
    from mmseg.registry import RUNNERS, TRANSFORMS
    pack_cls = wsss_registry.TRANSFORMS.get('PackWeakSegInputs')
    assert pack_cls is not None
    with DefaultScope.overwrite_default_scope('mmseg'):
        pack = TRANSFORMS.build(dict(type='wsss_mmseg.PackWeakSegInputs'))
        assert type(pack) is pack_cls
        # Unprefixed from mmseg's scope is mmseg's, as it should be.
        assert TRANSFORMS.get('PackWeakSegInputs') is None
    assert RUNNERS.get('wsss_mmseg.DeviceAwareRunner') is not None


def test_register_all_modules_sets_scope():
    wsss_mmseg.register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'wsss_mmseg'


# --------------------------------------------------------------------------
# packaging of the stack
# --------------------------------------------------------------------------
def test_setuptools_below_82_provides_pkg_resources():
    """mmengine's ``pkg::`` config lookup imports pkg_resources."""
    import setuptools
    major = int(setuptools.__version__.split('.')[0])
    assert major < 82, f'setuptools {setuptools.__version__} has no ' \
        'pkg_resources; pin setuptools<82'
    importlib.import_module('pkg_resources')
    assert 'setuptools<82' in _requirement_names('runtime').values()
    from mmengine.utils.package_utils import get_installed_path
    assert osp.isdir(get_installed_path('mmseg'))


def test_undeclared_mmseg_dependencies_are_declared():
    """mmseg imports ftfy and regex without declaring them."""
    runtime = _requirement_names('runtime')
    for name in ('ftfy', 'regex'):
        assert name in runtime, f'requirements/runtime.txt lacks {name}'
    importlib.import_module('mmseg.utils.tokenizer')


def test_stack_pins():
    """mmseg 1.2.2 asserts mmcv<2.2.0; torchvision must match torch."""
    ci = _requirement_names('ci')
    assert ci['mmcv-lite'] == 'mmcv-lite==2.1.0'
    assert ci['torch'] == 'torch==2.14.1'
    assert ci['torchvision'] == 'torchvision==0.29.1'
    runtime = _requirement_names('runtime')
    assert runtime['mmengine'] == 'mmengine==0.10.7'
    assert runtime['mmsegmentation'] == 'mmsegmentation==1.2.2'
    assert runtime['mmpretrain'] == 'mmpretrain==1.2.0'
    assert mmcv.__version__.startswith('2.1.')
    assert mmengine.__version__ == '0.10.7'
    # mmpretrain imports torchvision when its registries load.
    importlib.import_module('mmpretrain.models')


def test_configs_are_text_style():
    """mmengine 0.10.7's read_base() configs break on Python 3.11,
    ``pkg::`` lookups split names on dots, and ``wsss_mmseg::`` bases inside
    our own configs would break mmseg's tools/train.py (they are resolved
    before custom_imports import the plugin): use relative bases."""
    files = sorted((REPO / 'configs').rglob('*.py'))
    assert len(files) >= 5  # at least our _base_ runtime and schedules
    for path in files:
        rel = path.relative_to(REPO)
        text = path.read_text()
        assert 'read_base' not in text, rel
        assert 'wsss_mmseg::' not in text, f'{rel}: use a relative _base_'
        assert path.name.count('.') == 1, f'{rel}: no dots except .py'


def test_pytest_uses_importlib_mode():
    """mmseg's wheel installs a top-level ``tests`` package."""
    ini = (REPO / 'pytest.ini').read_text()
    assert '--import-mode=importlib' in ini
    offenders = [
        str(p.relative_to(REPO)) for p in (REPO / 'tests').rglob('*.py')
        if re.search(r'^\s*(from|import)\s+tests(\.|\s|$)', p.read_text(),
                     re.M)
    ]
    assert not offenders, f'tests must not import from `tests.`: {offenders}'


def test_model_index_files_exist():
    """mmengine reads every metafile of ``.mim/model-index.yml`` on each
    ``wsss_mmseg::`` lookup: one missing file breaks them all."""
    index = mmengine.load(REPO / 'model-index.yml')
    assert index['Import'], 'model-index.yml imports no metafile'
    for meta in index['Import']:
        assert (REPO / meta).is_file(), f'model-index.yml: {meta} missing'
        for model in mmengine.load(REPO / meta).get('Models') or []:
            assert (REPO / model['Config']).is_file(), \
                f'{meta}: {model["Name"]} -> {model["Config"]} missing'
    # The same through the installed package.
    mim = Path(compat.installed_package_path('wsss_mmseg')) / '.mim'
    assert mmengine.load(mim / 'model-index.yml') == index


def test_adjust_hue_shim_wraps_negative_shifts():
    """mmcv 2.1 + numpy 2: a negative hue shift overflows; the shim wraps it.

    If upstream fixes ``adjust_hue`` the first assertion fails, and the shim
    (which only installs itself while upstream is broken) can be removed.
    """
    import cv2
    import mmcv
    import numpy as np
    from mmcv.image import photometric

    from wsss_mmseg.utils import compat
    assert compat.mmcv_adjust_hue_is_broken()
    assert mmcv.adjust_hue is compat.adjust_hue
    assert photometric.adjust_hue is compat.adjust_hue
    rng = np.random.RandomState(0)
    img = (rng.rand(16, 16, 3) * 255).astype(np.uint8)
    out = mmcv.adjust_hue(img, -0.1)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] - 25) % 256
    expected = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR_FULL)
    np.testing.assert_array_equal(out, expected)
    # positive shifts go to mmcv's own implementation unchanged
    np.testing.assert_array_equal(
        mmcv.adjust_hue(img, 0.1), compat._ORIGINAL_ADJUST_HUE(img, 0.1))
