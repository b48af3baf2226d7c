"""Where the time goes: ONNX Runtime's time per op type in the ONNX graph
and OpenVINO's per layer type in its IR (the form its exporter writes), at
f32 and bf16, for one model, as markdown tables."""

import collections
import json
import os
from typing import Dict, List, Tuple

import numpy as np

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


def openvino_per_op(
    file: str, x: np.ndarray, threads: int, calls: int = 30, hint='f32'
) -> PerOp:
    """OpenVINO's time per executed layer type in the last of ``calls``
    runs (inference precision ``hint``, latency hint)."""
    import openvino as ov

    compiled = ov.Core().compile_model(
        file,
        'CPU',
        {
            'INFERENCE_PRECISION_HINT': hint,
            'INFERENCE_NUM_THREADS': str(threads),
            'PERFORMANCE_HINT': 'LATENCY',
            'PERF_COUNT': True,
        },
    )
    request = compiled.create_infer_request()
    for _ in range(calls):
        request.infer({0: x})
    per_op: Dict[str, List[float]] = collections.defaultdict(lambda: [0, 0])
    for p in request.get_profiling_info():
        if p.status.name == 'EXECUTED':
            entry = per_op[p.node_type]
            entry[0] += p.real_time.total_seconds() * 1e3
            entry[1] += 1
    return {k: (v[0], v[1]) for k, v in per_op.items()}


def profile_onnx(
    label: str, file: str, ir: str, x: np.ndarray, threads: int
) -> str:
    """The node counts of an ONNX file, ONNX Runtime's profile of it, and
    OpenVINO's of the IR ``ir`` at f32 and (where the CPU has it) bf16."""
    import openvino as ov

    sections = [
        f'{label}: {onnx_node_counts(file)}',
        profile_table(
            'ONNX Runtime, by op type (after its graph optimisations)',
            ort_per_op(file, x, threads),
        ),
    ]
    hints = ['f32']
    if 'BF16' in ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'):
        hints.append('bf16')
    for hint in hints:
        sections.append(
            profile_table(
                f'OpenVINO {hint}, its own form, by executed layer type '
                '(last call)',
                openvino_per_op(ir, x, threads, hint=hint),
            )
        )
    return '\n\n'.join(sections)


def profile_ours(
    arch: str, shape: Tuple[int, int], threads: int, folder: str
) -> str:
    """:func:`profile_onnx` of our Lite-HRNet (``arch``, 1x1 head, the
    benchmark's weights): its static fp32 ONNX export and OpenVINO's IR of
    its own form, written into ``folder``."""
    from . import candidates as zoo

    ours = zoo.pose_candidates(arch, peers=False)[1]
    model = zoo.build(ours, shape)
    files = [
        zoo.export_artifact(model, r, 'fp32', shape, f'{folder}/ours{e}', 1)
        for r, e in (('onnxruntime', '.onnx'), ('openvino', '.xml'))
    ]
    x = zoo.benchmark_images(1, shape).numpy()
    return profile_onnx(f'{ours.label}, static export', *files, x, threads)
