"""Complexity report and benchmark of Lite-HRNet models."""

from .complexity import complexity, conv_macs, official_flops
from .models import PoseModel, build_from_config, build_preset

__all__ = [
    'PoseModel',
    'build_from_config',
    'build_preset',
    'complexity',
    'conv_macs',
    'official_flops',
]
