"""Measuring Lite-HRNet: the complexity report, random weights, and the
benchmark's parts (``tools/analysis/benchmark.py`` is its command line):

* ``candidates``: the models timed, labelled by what they are;
* ``grid``: every candidate by every path (PyTorch, each runtime and
  precision), exported through ``litehrnet_mm.deploy.export``;
* ``worker``: a path in a process of its own, timed on request;
* ``timing``: blocks of calls, interleaved, medians;
* ``profile``: the runtimes' time per op;
* ``report``: the markdown tables.
"""

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
