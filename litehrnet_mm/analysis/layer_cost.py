"""What an executed layer costs OpenVINO's CPU plugin, whatever it computes.

The profile (:mod:`.profile`) times each layer of a network. This measures
the part of a layer's time that does not depend on its work: a chain of
tiny layers of the kinds Lite-HRNet is made of (a 1x1 conv with a ReLU, a
3x3 depthwise conv, a 3x3 average pool; 16 channels on a 4x3 map, a few
thousand multiply-adds each) is timed against a shorter one, at each
inference precision, with one thread and with ``threads``; the difference
in time over the difference in executed layers (counted in the compiled
model's runtime graph, so a fusion the plugin makes is not counted as a
layer) is the
fixed cost of one executed layer: the plugin's dispatch and, with more
than one thread, handing the layer to the thread pool and joining it.

A network of many small layers pays it once per layer. Lite-HRNet-18's
OpenVINO form executes about 500 layers at 256x192, most of them small
(per-branch and per-channel ops, 1x1 convs on pooled and 1x1 maps), so
this cost, about the same at bf16 as at f32, bounds what a lower
precision can gain at batch 1 (README, Where the time goes).
"""

import warnings
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from litehrnet_mm.deploy.runtimes.openvino import latency_config

from .timing import local_block, time_blocks

#: (inference precision hint, threads) -> seconds per executed layer.
Costs = Dict[Tuple[str, int], float]


def tiny_chain(units: int, channels: int = 16) -> nn.Module:
    """``units`` times a 1x1 conv with a ReLU (which OpenVINO fuses into
    the conv), a 3x3 depthwise conv and a 3x3 average pool, all keeping
    the map's size: three executed layers each."""
    return nn.Sequential(
        *[
            nn.Sequential(
                nn.Conv2d(channels, channels, 1),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
                nn.AvgPool2d(3, stride=1, padding=1),
            )
            for _ in range(units)
        ]
    ).eval()


def executed_layers(compiled) -> int:
    """The layers a compiled OpenVINO model runs on each call: the nodes
    of its runtime graph less its inputs, outputs, constants and what is
    computed from constants alone (weights reordered or reshaped once).

    Counted from the graph, not from a profile: OpenVINO's profile reports
    a layer that took under a microsecond as not run, and after a few
    calls most of a chain of tiny layers does. (A node run in place, as
    some concatenations are, counts too; the chains here have none.)"""
    constant, count = set(), 0
    for op in compiled.get_runtime_model().get_ordered_ops():
        kind = op.get_rt_info()['layerType'].astype(str)
        sources = [
            i.get_source_output().get_node().get_friendly_name()
            for i in op.inputs()
        ]
        if kind == 'Const' or (sources and set(sources) <= constant):
            constant.add(op.get_friendly_name())
        elif kind not in ('Input', 'Output'):
            count += 1
    return count


def fixed_cost(
    hints: Sequence[str],
    threads: int,
    short: int = 5,
    long: int = 65,
    size: Tuple[int, int] = (4, 3),
    channels: int = 16,
    rounds: int = 5,
) -> Costs:
    """The fixed cost of one executed layer at each inference precision
    hint of ``hints``, with one thread and with ``threads``: the time of a
    :func:`tiny_chain` of ``long`` units less that of one of ``short``
    units, over the difference in their executed layers. All the compiled
    chains are timed interleaved, as the benchmark times its candidates
    (:func:`~.timing.time_blocks`)."""
    import openvino as ov

    if not 0 < short < long:
        raise ValueError(
            f'fixed_cost: short={short}, long={long}; expected '
            '0 < short < long'
        )
    x = np.random.default_rng(0).random((1, channels, *size), np.float32)
    core = ov.Core()
    with warnings.catch_warnings():  # the converter's torch.jit notices
        warnings.simplefilter('ignore')
        models = {
            n: ov.convert_model(
                tiny_chain(n, channels), example_input=torch.from_numpy(x)
            )
            for n in (short, long)
        }
    thread_counts = sorted({1, threads})
    blocks, layers = {}, {}
    for hint in hints:
        for t in thread_counts:
            for n, model in models.items():
                compiled = core.compile_model(
                    model, 'CPU', latency_config(hint, t)
                )
                layers[hint, t, n] = executed_layers(compiled)
                request = compiled.create_infer_request()
                blocks[hint, t, n] = local_block(
                    lambda r=request: r.infer({0: x})
                )
    timings = time_blocks(
        blocks, rounds=rounds, block_seconds=0.1, pause=0.1, warmup=20
    )
    return {
        (hint, t): (
            timings[hint, t, long].median - timings[hint, t, short].median
        )
        / (layers[hint, t, long] - layers[hint, t, short])
        for hint in hints
        for t in thread_counts
    }


def cost_table(costs: Costs, layers: int) -> str:
    """One row per (precision, threads): the fixed cost of an executed
    layer, and what ``layers`` of them add up to."""
    lines = [
        '| inference precision | threads | us per executed layer | '
        f'x {layers} layers: ms |',
        '| --- | --- | --- | --- |',
    ]
    for (hint, threads), seconds in costs.items():
        lines.append(
            f'| {hint} | {threads} | {seconds * 1e6:.1f} | '
            f'{seconds * layers * 1e3:.2f} |'
        )
    return '\n'.join(lines)
