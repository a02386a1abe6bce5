from .formatting import PackWeakSegInputs
from .geometric import PadToSquare, RandomSquareResize, SquareResize
from .loading import (CheckedLoadAnnotations, CheckedLoadImageFromFile,
                      LoadImageLevelLabels)
from .superpixel_loading import LoadSuperpixels

__all__ = [
    'PackWeakSegInputs', 'CheckedLoadAnnotations', 'CheckedLoadImageFromFile',
    'LoadImageLevelLabels', 'LoadSuperpixels', 'PadToSquare',
    'RandomSquareResize', 'SquareResize'
]
