"""The blocks of Lite-HRNet, one file per idea of the paper."""

from .fusion import FuseDown, FuseUp, build_fuse_layers, fuse
from .iterative_head import IterativeHead
from .lite_hr_module import LiteHRModule
from .norm import FittedGroupNorm
from .shuffle import ShuffleUnit, channel_shuffle
from .stem import Stem
from .weighting import (
    ConditionalChannelWeighting,
    CrossResolutionWeighting,
    SpatialWeighting,
)

__all__ = [
    'ConditionalChannelWeighting',
    'CrossResolutionWeighting',
    'FittedGroupNorm',
    'FuseDown',
    'FuseUp',
    'IterativeHead',
    'LiteHRModule',
    'ShuffleUnit',
    'SpatialWeighting',
    'Stem',
    'build_fuse_layers',
    'channel_shuffle',
    'fuse',
]
