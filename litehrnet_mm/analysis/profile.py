"""Where the time goes: ONNX Runtime's time per op type in the ONNX graph
and OpenVINO's per layer type in its IR (the form its exporter writes), at
f32, bf16 and int8, for one model, as markdown tables: which layers run in
which precision, where the Reorders (layout or precision conversions)
sit, and what OpenVINO's executed layers cost by their number alone
(:mod:`.layer_cost`)."""

import collections
import contextlib
import copy
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn

from litehrnet_mm.deploy.runtimes.openvino import latency_config

from .layer_cost import Costs, cost_table, fixed_cost

#: op -> (ms per call, nodes)
PerOp = Dict[str, Tuple[float, int]]


def onnx_node_counts(file: str, top: int = 8) -> str:
    """``N ONNX nodes (n Conv, ...)``: the graph's size and its most
    frequent node types."""
    import onnx

    nodes = collections.Counter(n.op_type for n in onnx.load(file).graph.node)
    return (
        f'{sum(nodes.values())} ONNX nodes ('
        + ', '.join(f'{n} {op}' for op, n in nodes.most_common(top))
        + ')'
    )


def profile_table(title: str, per_op: PerOp, rows: int = 12) -> str:
    """The ops that took longest, with their share of the total."""
    total = sum(t for t, _ in per_op.values())
    count = sum(n for _, n in per_op.values())
    lines = [
        f'{title}: {total:.2f} ms per call in the profiled ops, {count} nodes',
        '',
        '| op | ms per call | share | nodes |',
        '| --- | --- | --- | --- |',
    ]
    ranked = sorted(per_op.items(), key=lambda kv: -kv[1][0])[:rows]
    for op, (t, n) in ranked:
        lines.append(f'| {op} | {t:.2f} | {100 * t / total:.0f}% | {n} |')
    return '\n'.join(lines)


def ort_per_op(
    file: str, x: np.ndarray, threads: int, calls: int = 30
) -> PerOp:
    """ONNX Runtime's kernel time per op type (after its graph
    optimisations), averaged over ``calls`` runs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(os.path.dirname(file), 'ort')
    session = ort.InferenceSession(
        file, options, providers=['CPUExecutionProvider']
    )
    name = session.get_inputs()[0].name
    for _ in range(calls):
        session.run(None, {name: x})
    with open(session.end_profiling()) as f:
        events = json.load(f)
    per_op: Dict[str, List[float]] = collections.defaultdict(lambda: [0, 0])
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            entry = per_op[e['args']['op_name']]
            entry[0] += e['dur'] / 1e3 / calls
            entry[1] += 1 / calls
    return {k: (v[0], round(v[1])) for k, v in per_op.items()}


@dataclass
class Layer:
    """One executed layer of OpenVINO's runtime graph."""

    name: str
    type: str  # Convolution, GroupConvolution, Reorder, Subgraph, ...
    precision: str  # runtimePrecision: f32, bf16, u8, i8
    ms: float  # median over the profiled rounds
    source: str  # '<type> <output precision>' of the layer it reads
    target: str  # '<type> <precision>' of the first layer reading it


def openvino_layers(
    file: str, x: np.ndarray, threads: int, hint: str = 'f32', **timing
) -> List[Layer]:
    """The executed layers of OpenVINO's runtime graph of ``file`` at
    inference precision ``hint`` (:func:`openvino_profiles` of one
    path)."""
    return openvino_profiles({'': (file, hint)}, x, threads, **timing)['']


def openvino_profiles(
    paths: Dict[str, Tuple[str, str]],
    x: np.ndarray,
    threads: int,
    rounds: int = 10,
    calls: int = 3,
    warmup: int = 10,
    pause: float = 0.1,
) -> Dict[str, List[Layer]]:
    """The executed layers of OpenVINO's runtime graph of each path
    (label -> (IR, inference precision hint); latency hint), each with the
    precision it ran in and its median time. The paths are timed
    interleaved, as the benchmark times them: each round runs ``calls``
    calls of every path in turn, with a pause before each, and reads the
    last call's per-layer times; medians over ``rounds``."""
    import openvino as ov

    core = ov.Core()
    compiled = {
        label: core.compile_model(
            file, 'CPU', {**latency_config(hint, threads), 'PERF_COUNT': True}
        )
        for label, (file, hint) in paths.items()
    }
    requests = {k: c.create_infer_request() for k, c in compiled.items()}
    for request in requests.values():
        for _ in range(warmup):
            request.infer({0: x})
    times = {k: collections.defaultdict(list) for k in paths}
    types: Dict[str, Dict[str, str]] = {k: {} for k in paths}
    for _ in range(rounds):
        for label, request in requests.items():
            time.sleep(pause)
            for _ in range(calls):
                request.infer({0: x})
            for p in request.get_profiling_info():
                if p.status.name == 'EXECUTED':
                    times[label][p.node_name].append(
                        p.real_time.total_seconds()
                    )
                    # The profile's names: GroupConvolution, AvgPool, ...
                    types[label][p.node_name] = p.node_type
    return {
        label: _layers(compiled[label], times[label], types[label])
        for label in paths
    }


def _layers(
    compiled, times: Dict[str, List[float]], types: Dict[str, str]
) -> List[Layer]:
    """:class:`Layer` of each executed node of ``compiled``'s runtime
    graph, in execution order."""

    def info(op, key):
        return op.get_rt_info()[key].astype(str)

    def kind(op):
        return types.get(op.get_friendly_name(), info(op, 'layerType'))

    layers = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        name = op.get_friendly_name()
        if name not in times:
            continue
        sources = [
            i.get_source_output().get_node()
            for i in op.inputs()
            if info(i.get_source_output().get_node(), 'layerType') != 'Const'
        ]
        targets = [
            t.get_node() for o in op.outputs() for t in o.get_target_inputs()
        ]
        layers.append(
            Layer(
                name,
                types[name],
                info(op, 'runtimePrecision'),
                float(np.median(times[name])) * 1e3,
                f'{kind(sources[0])} {info(sources[0], "outputPrecisions")}'
                if sources
                else '',
                (f'{kind(targets[0])} {info(targets[0], "runtimePrecision")}')
                if targets
                else '',
            )
        )
    return layers


def layer_table(title: str, layers: List[Layer], rows: int = 12) -> str:
    """:func:`profile_table` of ``layers`` by type, with the precisions
    each type ran in."""
    per_op: Dict[str, List[float]] = collections.defaultdict(lambda: [0, 0])
    precisions: Dict[str, collections.Counter] = collections.defaultdict(
        collections.Counter
    )
    for layer in layers:
        per_op[layer.type][0] += layer.ms
        per_op[layer.type][1] += 1
        precisions[layer.type][layer.precision] += 1
    table = profile_table(
        title, {k: (v[0], v[1]) for k, v in per_op.items()}, rows
    ).splitlines()
    table[2] += ' runtime precision |'
    table[3] += ' --- |'
    for i in range(4, len(table)):
        op = table[i].split(' | ')[0][2:]
        table[i] += (
            ' '
            + ', '.join(f'{n} {p}' for p, n in precisions[op].most_common())
            + ' |'
        )
    return '\n'.join(table)


def reorders(layers: List[Layer], top: int = 6) -> str:
    """Where the executed Reorders sit: ``N Reorders, t ms: <the layer
    each reads> -> <the layer reading it> (count), ...``, the most
    frequent first. A Reorder converts a layout, a precision or both."""
    found = [r for r in layers if r.type == 'Reorder']
    where = collections.Counter(f'{r.source} -> {r.target}' for r in found)
    ms = sum(r.ms for r in found)
    text = f'{len(found)} Reorders, {ms:.2f} ms'
    if where:
        text += ': ' + ', '.join(
            f'{w} ({n})' for w, n in where.most_common(top)
        )
    return text


def low_precision(layers: List[Layer]) -> Tuple[int, float]:
    """How many executed layers, and what share of the summed time, ran in
    a precision below f32 (u8, i8, bf16, f16), Reorders left out."""
    low = [
        layer
        for layer in layers
        if layer.precision not in ('f32', 'i32') and layer.type != 'Reorder'
    ]
    total = sum(layer.ms for layer in layers) or 1.0
    return len(low), sum(layer.ms for layer in low) / total


def summary_table(paths: Dict[str, List[Layer]]) -> str:
    """One row per profiled path: executed layers, summed time (and its
    ratio to the first path's), the layers in a low precision, the
    Reorders."""
    lines = [
        '| OpenVINO | executed layers | summed ms | x first | '
        'layers below f32 (share of time) | Reorders (ms) |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    first = None
    for label, layers in paths.items():
        ms = sum(layer.ms for layer in layers)
        first = first or ms
        low, share = low_precision(layers)
        found = [r for r in layers if r.type == 'Reorder']
        lines.append(
            f'| {label} | {len(layers)} | {ms:.2f} | {first / ms:.2f} | '
            f'{low} ({100 * share:.0f}%) | {len(found)} '
            f'({sum(r.ms for r in found):.2f}) |'
        )
    return '\n'.join(lines)


def profile_onnx(
    label: str,
    file: str,
    x: np.ndarray,
    threads: int,
    openvino: Dict[str, Tuple[str, str]],
    layer_costs: Optional[Costs] = None,
) -> str:
    """The node counts of an ONNX file, ONNX Runtime's profile of it, and
    OpenVINO's of each path of ``openvino`` (label -> (IR, inference
    precision hint)): a summary row per path, then per path its time and
    precisions by layer type and where its Reorders are; with
    ``layer_costs`` (:func:`~.layer_cost.fixed_cost`), what the first
    path's executed layers cost by their number alone."""
    sections = [
        f'{label}: {onnx_node_counts(file)}',
        profile_table(
            'ONNX Runtime, by op type (after its graph optimisations)',
            ort_per_op(file, x, threads),
        ),
    ]
    paths = openvino_profiles(openvino, x, threads)
    sections.append(
        'OpenVINO, its own form, by path (executed layers; the paths '
        'interleaved, medians of 10 rounds):\n\n' + summary_table(paths)
    )
    for name, layers in paths.items():
        sections.append(
            layer_table(f'OpenVINO {name}, by executed layer type', layers)
            + '\n\n'
            + reorders(layers)
        )
    if layer_costs:
        count = len(next(iter(paths.values())))
        sections.append(
            "OpenVINO's fixed cost of one executed layer, whatever it "
            'computes (a chain of tiny 1x1 and depthwise convs and pools '
            'timed against a shorter one: analysis/layer_cost.py), and '
            f'what the {count} executed layers of the first path add up '
            'to:\n\n' + cost_table(layer_costs, count)
        )
    return '\n\n'.join(sections)


def profile_ours(
    arch: str,
    shape: Tuple[int, int],
    threads: int,
    folder: str,
    precisions: Sequence[str] = ('fp32',),
    calib_images: int = 16,
) -> str:
    """:func:`profile_model` of our Lite-HRNet (``arch``, 1x1 head, the
    benchmark's weights)."""
    from . import candidates as zoo

    ours = zoo.pose_candidates(arch, peers=False)[1]
    return profile_model(
        zoo.build(ours, shape),
        f'{ours.label}, static export',
        shape,
        threads,
        folder,
        precisions,
        calib_images,
    )


def profile_model(
    model: nn.Module,
    label: str,
    shape: Tuple[int, int],
    threads: int,
    folder: str,
    precisions: Sequence[str] = ('fp32',),
    calib_images: int = 16,
) -> str:
    """:func:`profile_onnx` of ``model`` (one with a Lite-HRNet backbone of
    ours): its static fp32 ONNX export, and OpenVINO's IR of its own form
    at each of ``precisions``: f32; bf16 where the CPU has it; int8 twice,
    with NNCF's defaults over the whole graph (what a user would get) and
    with Lite-HRNet's options of the model's task
    (:data:`~litehrnet_mm.deploy.quantize.OPENVINO_INT8`), both calibrated
    like the benchmark's. The artifacts are written into ``folder``."""
    import openvino as ov

    from . import candidates as zoo

    onnx_file, ir = [
        zoo.export_artifact(model, r, 'fp32', shape, f'{folder}/ours{e}', 1)
        for r, e in (('onnxruntime', '.onnx'), ('openvino', '.xml'))
    ]
    paths = {'f32': (ir, 'f32')}
    notes = []
    if 'bf16' in precisions:
        caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
        if 'BF16' in caps:
            paths['bf16'] = (ir, 'bf16')
        else:
            notes.append(
                'bf16 is left out: this CPU has no BF16 (OpenVINO would '
                'compute in f32).'
            )
    if 'int8' in precisions:
        calib = zoo.calibration_images(shape, calib_images)
        with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars
            defaults = nncf_defaults_int8(
                model, shape, f'{folder}/ours-int8-nncf-defaults.xml', calib
            )
            designed = zoo.export_artifact(
                model,
                'openvino',
                'int8',
                shape,
                f'{folder}/ours-int8.xml',
                1,
                calib,
            )
        paths['int8, NNCF defaults'] = (defaults, 'f32')
        task = getattr(model, 'task', None) or 'no task'
        paths[f'int8, ours ({task})'] = (designed, 'f32')
    x = zoo.benchmark_images(1, shape).numpy()
    hints = list(dict.fromkeys(hint for _, hint in paths.values()))
    text = profile_onnx(
        label, onnx_file, x, threads, paths, fixed_cost(hints, threads)
    )
    return '\n\n'.join([text, *notes])


def nncf_defaults_int8(
    model: nn.Module,
    shape: Tuple[int, int],
    output: str,
    calib: List[np.ndarray],
) -> str:
    """OpenVINO's int8 of ``model``'s own form in deploy form with NNCF's
    defaults over the whole graph (as the benchmark's peers get it); the
    "before" of Lite-HRNet's int8 options."""
    from litehrnet_mm.deploy.onnx import switch_backbones

    from .candidates import export_as_is

    model = copy.deepcopy(model).eval()
    switch_backbones(model)
    return export_as_is(model, 'openvino', 'int8', shape, output, 1, calib)
