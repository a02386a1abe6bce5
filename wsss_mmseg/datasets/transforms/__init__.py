from .formatting import PackWeakSegInputs

__all__ = ['PackWeakSegInputs']
