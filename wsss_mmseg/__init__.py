"""wsss_mmseg: weakly supervised semantic segmentation on MMSegmentation.

Importing the package applies the compatibility shims of
:mod:`wsss_mmseg.utils.compat` (before anything imports ``mmseg.models``) and
registers every module of the plugin in the ``wsss_mmseg`` registries.
"""
from .utils.compat import apply_all as _apply_compat

_apply_compat()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .utils import register_all_modules  # noqa: E402
from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info', 'register_all_modules']
