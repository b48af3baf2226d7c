"""Complexity report, random weights and steady-state timing of Lite-HRNet
models (the benchmark itself is tools/analysis/benchmark.py)."""

from .complexity import complexity, conv_macs, official_flops
from .models import PoseModel, build_from_config, build_preset
from .weights import random_weights_

__all__ = [
    'PoseModel',
    'build_from_config',
    'build_preset',
    'complexity',
    'conv_macs',
    'official_flops',
    'random_weights_',
]
