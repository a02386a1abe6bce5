from .hooks import *  # noqa: F401,F403
from .runners import *  # noqa: F401,F403

__all__ = []
