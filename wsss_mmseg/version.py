"""Single source of the package version (read by setup.py and metafiles)."""

__version__ = '0.1.0'


def _parse_version(version: str) -> tuple:
    """Turn ``'0.1.0'`` into ``(0, 1, 0)``; non-numeric parts are kept as str."""
    return tuple(int(p) if p.isdigit() else p for p in version.split('.'))


version_info = _parse_version(__version__)

__all__ = ['__version__', 'version_info']
