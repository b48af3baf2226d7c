"""What an executed layer costs OpenVINO by its number alone
(analysis/layer_cost.py): the chain it times, the layers it counts, the
table; the cost itself is a measurement, printed by
``benchmark.py --profile``, never asserted."""

import math

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.layer_cost import (
    cost_table,
    executed_layers,
    fixed_cost,
    tiny_chain,
)
from litehrnet_mm.deploy.runtimes.openvino import latency_config

ov = pytest.importorskip('openvino')


def test_the_chain_runs_three_layers_per_unit():
    """A 1x1 conv (its ReLU fused), a depthwise conv and a pool per unit,
    each keeping the map's size; counted in the runtime graph, at f32 and
    bf16 (a CPU without bf16 compiles it as f32)."""
    x = np.random.default_rng(0).random((1, 16, 4, 3), np.float32)
    assert tiny_chain(2)(torch.from_numpy(x)).shape == (1, 16, 4, 3)
    core = ov.Core()
    counts = [
        executed_layers(
            core.compile_model(
                ov.convert_model(
                    tiny_chain(n), example_input=torch.from_numpy(x)
                ),
                'CPU',
                latency_config(hint),
            )
        )
        for hint in ('f32', 'bf16')
        for n in (1, 3)
    ]
    assert counts[1] - counts[0] == counts[3] - counts[2] == 6


def test_fixed_cost_gives_one_figure_per_precision_and_threads():
    costs = fixed_cost(['f32'], 2, short=1, long=3, rounds=1)
    assert list(costs) == [('f32', 1), ('f32', 2)]
    assert all(math.isfinite(c) for c in costs.values())
    with pytest.raises(ValueError, match='expected 0 < short < long'):
        fixed_cost(['f32'], 1, short=3, long=3)


def test_cost_table_adds_up_the_layers():
    table = cost_table({('f32', 1): 2e-6, ('bf16', 2): 5e-6}, 500).splitlines()
    assert table[0] == (
        '| inference precision | threads | us per executed layer | '
        'x 500 layers: ms |'
    )
    assert table[2:] == [
        '| f32 | 1 | 2.0 | 1.00 |',
        '| bf16 | 2 | 5.0 | 2.50 |',
    ]
