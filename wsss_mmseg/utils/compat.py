"""Compatibility shims for the mmseg 1.2.2 / mmengine 0.10.7 / mmcv 2.1 stack.

Every fix for a measured problem of the stack on a current machine lives
here, is applied once by :func:`apply_all` (called from
``wsss_mmseg/__init__.py``) and has a test in ``tests/test_utils``.

==========================================  ===================================
problem                                     shim
==========================================  ===================================
mmseg imports ``mmcv.ops`` unconditionally  :func:`install_mmcv_ops_standin`
and mmcv-lite has no compiled ops           (pure PyTorch ``point_sample``; any
                                            other op raises a clear error when
                                            used); inactive with full mmcv
torch>=2.6 loads ``weights_only=True`` by   :func:`register_trusted_local_loader`
default, mmengine checkpoints hold          (local files are the user's own:
``HistoryBuffer`` objects                   load with ``weights_only=False``)
mmcv 2.1 ``adjust_hue`` casts a negative   :func:`patch_mmcv_adjust_hue`
hue shift to uint8, an OverflowError with   (modular shift in int16; only
numpy 2 (mmpretrain ColorJitter)            installed while upstream fails)
``wsss_mmseg::`` config bases are looked    :func:`register_config_package`
up in mmengine's hard-coded package table,  (table entry; path lookup that
and editable installs are not found         falls back to the module's dir)
==========================================  ===================================

The CPU-capable runner (gloo DDP without CUDA) is a registered class in
:mod:`wsss_mmseg.engine.runners`, selected by ``runner_type`` in our base
runtime config.
"""
import importlib.util
import os.path as osp
import sys
import types
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

_STANDIN_FLAG = '__wsss_mmseg_standin__'
FULL_MMCV_HINT = (
    'it needs the compiled ops of full mmcv (mmcv==2.1.0), but only '
    'mmcv-lite is installed. See docs/get_started.md, "GPU install".')


def has_compiled_mmcv_ops() -> bool:
    """Whether mmcv's compiled extension ``mmcv._ext`` can be imported."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def point_sample(input: Tensor,
                 points: Tensor,
                 align_corners: bool = False,
                 **kwargs: Any) -> Tensor:
    """Pure PyTorch version of ``mmcv.ops.point_sample``.

    Args:
        input (Tensor): Feature map, (N, C, H, W).
        points (Tensor): Normalised [0, 1] x-y coordinates, (N, P, 2) or
            (N, Hgrid, Wgrid, 2).
        align_corners (bool): As in :func:`torch.nn.functional.grid_sample`.

    Returns:
        Tensor: (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    out = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if add_dim else out


def _missing_op(name: str) -> type:
    """A class that stands for a compiled mmcv op and fails when used."""

    def _fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f'mmcv.ops.{name}: {FULL_MMCV_HINT}')

    return type(name, (), {'__new__': _fail, _STANDIN_FLAG: True})


class _OpsStandin(types.ModuleType):
    """Module object installed as ``mmcv.ops`` when compiled ops are absent."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        op = _missing_op(name)
        setattr(self, name, op)
        return op


def mmcv_ops_standin_active() -> bool:
    """Whether ``mmcv.ops`` is currently our stand-in."""
    return getattr(sys.modules.get('mmcv.ops'), _STANDIN_FLAG, False)


def install_mmcv_ops_standin(force: bool = False) -> bool:
    """Install a pure PyTorch stand-in for ``mmcv.ops`` if it is needed.

    Args:
        force (bool): Install even when compiled ops exist (tests only).

    Returns:
        bool: True if the stand-in is active after the call.
    """
    if mmcv_ops_standin_active():
        return True
    if has_compiled_mmcv_ops() and not force:
        return False
    import mmcv
    from mmengine.logging import print_log
    module = _OpsStandin('mmcv.ops', 'wsss_mmseg stand-in for mmcv.ops')
    module.point_sample = point_sample
    setattr(module, _STANDIN_FLAG, True)
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    print_log(
        'wsss_mmseg: mmcv compiled ops not found (mmcv-lite); installed a '
        'pure PyTorch stand-in for mmcv.ops (point_sample works, other ops '
        'raise an error when used).',
        logger='current')
    return True


def load_from_trusted_local(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint file with ``weights_only=False``.

    torch >= 2.6 refuses mmengine's own checkpoints (they pickle
    ``HistoryBuffer`` and numpy objects) under ``weights_only=True``. Local
    files are the user's own, so they are trusted like in torch < 2.6.
    (The name follows mmengine's ``load_from_<backend>`` convention: its log
    line reads "Loads checkpoint by trusted_local backend".)

    Args:
        filename (str): Path of the checkpoint (``~`` expanded).
        map_location: As in :func:`torch.load`.

    Returns:
        The unpickled checkpoint object.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_trusted_local_loader() -> Callable:
    """Make mmengine's ``CheckpointLoader`` use :func:`load_from_trusted_local`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_trusted_local, force=True)
    return load_from_trusted_local


def installed_package_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` that also handles editable installs.

    mmengine joins the distribution's location with the package name. For a
    PEP 660 editable install that location is ``site-packages`` while the
    code lives in the source tree, so the joined path does not exist; then
    the imported module's own directory is the right answer.

    Args:
        package (str): Distribution (= module) name, e.g. ``'wsss_mmseg'``.

    Returns:
        str: Directory of the installed package.
    """
    from mmengine.utils.package_utils import get_installed_path
    try:
        path = get_installed_path(package)
    except Exception:  # DistributionNotFound and friends
        path = None
    if path is not None and osp.isdir(path):
        return path
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        if path is not None:
            return path
        raise ModuleNotFoundError(f'package {package!r} is not installed')
    return osp.dirname(spec.origin)


def register_config_package() -> None:
    """Let ``wsss_mmseg::<method>/<config>.py`` bases resolve in mmengine.

    Adds ``wsss_mmseg`` to mmengine's hard-coded ``MODULE2PACKAGE`` table and
    makes the config loader find the package of an editable install.
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault('wsss_mmseg', 'wsss_mmseg')
    config_module.get_installed_path = installed_package_path


def adjust_hue(img, hue_factor: float, backend=None):
    """``mmcv.adjust_hue`` with the hue shift wrapped modulo 256.

    mmcv 2.1 adds ``np.uint8(hue_factor * 255)`` to the uint8 hue channel;
    numpy >= 2 raises ``OverflowError`` for a negative factor instead of
    wrapping. This does the same cyclic shift in int16. Arguments and result
    as :func:`mmcv.adjust_hue` ((H, W, 3) BGR image in and out).
    """
    import cv2
    import numpy as np
    if hue_factor >= 0 or (backend or _mmcv_backend()) != 'cv2':
        return _ORIGINAL_ADJUST_HUE(img, hue_factor, backend)
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    dtype = img.dtype
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    shift = int(hue_factor * 255)  # truncation toward 0, as the uint8 cast
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 256).astype(
        np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def _mmcv_backend() -> str:
    from mmcv.image import io
    return io.imread_backend


_ORIGINAL_ADJUST_HUE: Callable = None  # set by patch_mmcv_adjust_hue


def mmcv_adjust_hue_is_broken() -> bool:
    """Whether the installed mmcv fails on a negative hue shift."""
    import numpy as np
    from mmcv.image import photometric
    original = _ORIGINAL_ADJUST_HUE or photometric.adjust_hue
    try:
        original(np.zeros((1, 1, 3), np.uint8), -0.1, backend='cv2')
    except OverflowError:
        return True
    return False


def patch_mmcv_adjust_hue() -> bool:
    """Replace ``mmcv.adjust_hue`` by :func:`adjust_hue` if mmcv fails.

    Returns:
        bool: True if the patch is active after the call.
    """
    global _ORIGINAL_ADJUST_HUE
    import mmcv
    from mmcv import image
    from mmcv.image import photometric
    if photometric.adjust_hue is adjust_hue:
        return True
    if not mmcv_adjust_hue_is_broken():
        return False
    _ORIGINAL_ADJUST_HUE = photometric.adjust_hue
    for module in (mmcv, image, photometric):
        module.adjust_hue = adjust_hue
    return True


def apply_all() -> None:
    """Apply every shim; idempotent."""
    install_mmcv_ops_standin()
    register_trusted_local_loader()
    register_config_package()
    patch_mmcv_adjust_hue()
