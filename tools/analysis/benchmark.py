"""Speed of Lite-HRNet against mmpose's port and against the models users
pick instead, on every runtime, in one process.

    python tools/analysis/benchmark.py                  # pose, Lite-HRNet-18
    python tools/analysis/benchmark.py --arch 30 --no-peers
    python tools/analysis/benchmark.py --task seg       # 512x1024, batch 1
    python tools/analysis/benchmark.py --train          # training step
    python tools/analysis/benchmark.py --profile        # where time goes

Candidates (fp32, the same thread count for every runtime):
* pose: mmpose's Lite-HRNet port (eager; ONNX Runtime and OpenVINO from its
  static export), ours eager, ours deployed (``switch_to_deploy``), ours
  on ONNX Runtime and OpenVINO (``export_onnx``, static shapes); with
  ``--peers``, mmpose's MobileNetV2 and ShuffleNetV2 SimpleBaselines,
  RTMPose-t and HRNet-W32, built from mmpose's own configs, eager and
  from a plain ``torch.onnx`` export of the same batch;
* seg: our Cityscapes config (backbone and FCN head) eager, deployed,
  ONNX Runtime and OpenVINO.

Every model has random weights with BN statistics calibrated on inputs of
the timed distribution (``torch.rand``), its outputs scaled to a peak of 1
(heatmap scale). Every runtime path is checked against the model's eager
output first (max abs difference, at most ``--atol``); one that fails is
reported and not timed. Timing: blocks of consecutive calls after warm-up,
interleaved over rounds with a pause before each block, medians
(:mod:`litehrnet_mm.analysis.timing`).

Progress goes to stderr; markdown tables to stdout, headed by the date,
the machine, its load and the command.
"""

import argparse
import collections
import copy
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.models import (
    PoseModel,
    build_from_config,
    parse_shape,
)
from litehrnet_mm.analysis.timing import Block, local_block, time_blocks
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.onnx import export_onnx, flatten_outputs
from litehrnet_mm.deploy.runtimes import load_runtime
from litehrnet_mm.models.backbones.arch import arch_to_extra

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SEG_CONFIG = os.path.join(
    REPO,
    'configs/seg/cityscapes/fcn_litehrnet-{arch}_4xb4-160k_cityscapes-512x1024.py',
)
# mmpose's own configs (COCO AP of its published weights).
PEERS = {
    'MobileNetV2 SimpleBaseline (64.8)': (
        'topdown_heatmap/coco/td-hm_mobilenetv2_8xb64-210e_coco-256x192.py'
    ),
    'ShuffleNetV2 SimpleBaseline (60.2)': (
        'topdown_heatmap/coco/td-hm_shufflenetv2_8xb64-210e_coco-256x192.py'
    ),
    'RTMPose-t (68.2)': 'rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py',
    'HRNet-W32 (74.6)': (
        'topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
    ),
}
PORT_AP = {'18': '64.2', '30': '67.6'}
OURS_AP = {'18': '64.8', '30': '67.2'}
RUNTIMES = ('onnxruntime', 'openvino')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine(threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    import onnxruntime
    import openvino

    return (
        f'{cpu}, {os.cpu_count()} cores, {threads} threads; torch '
        f'{torch.__version__}, onnxruntime {onnxruntime.__version__}, '
        f'openvino {openvino.__version__.split("-")[0]}'
    )


def load_average() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


class Output(nn.Module):
    """``model``'s outputs as one flat tuple, scaled to a peak of 1."""

    def __init__(self, model: nn.Module, scale: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, x: torch.Tensor):
        return tuple(o * self.scale for o in flatten_outputs(self.model(x)))


def calibrated(model: nn.Module, shape: Tuple[int, int]) -> Output:
    """Random weights, BN statistics of ``rand`` inputs, peak output 1."""
    random_weights_(model, (2, 3, *shape))
    model.eval()
    with torch.no_grad():
        x = torch.rand(
            1, 3, *shape, generator=torch.Generator().manual_seed(1)
        )
        peak = max(o.abs().max().item() for o in flatten_outputs(model(x)))
    return Output(model, 1.0 / peak).eval()


def port_model(arch: str) -> nn.Module:
    from mmpose.models.backbones import LiteHRNet as PortLiteHRNet

    backbone = PortLiteHRNet(extra=arch_to_extra(arch))
    backbone.out_channels = (
        arch_to_extra(arch)['stages_spec']['num_channels'][-1][0],
    )
    return PoseModel(backbone, 17)


def peer_model(config: str) -> nn.Module:
    import mmpose

    root = os.path.join(
        os.path.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint'
    )
    return build_from_config(os.path.join(root, config))


def plain_export(model: nn.Module, x: torch.Tensor, file: str) -> None:
    """``torch.onnx.export`` of a model as it is, static shapes."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            model,
            (x,),
            file,
            input_names=['input'],
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def candidate_model(spec: dict) -> nn.Module:
    """The eager model of a candidate, the same in every process: random
    weights from fixed seeds, calibrated, outputs scaled to a peak of 1."""
    shape = tuple(spec['shape'])
    if spec['model'] == 'seg':
        return calibrated(build_from_config(SEG_CONFIG.format(**spec)), shape)
    if spec['model'] == 'peer':
        return calibrated(peer_model(PEERS[spec['name']]), shape)
    ours = calibrated(PoseModel(LiteHRNet(arch=spec['arch']), 17), shape)
    if spec['model'] == 'port':
        port = port_model(spec['arch'])
        port.load_state_dict(ours.model.state_dict())
        return Output(port.eval(), ours.scale)
    return ours


def images(spec: dict) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1234)
    return torch.rand(spec['batch'], 3, *spec['shape'], generator=gen)


def candidate_call(spec: dict) -> Callable[[], object]:
    """One call of the candidate on its batch of images."""
    x = images(spec)
    path = spec['path']
    if path in RUNTIMES:
        runtime = load_runtime(spec['file'], path, threads=spec['threads'])
        scale, batch = spec['scale'], x.numpy()
        return lambda: [o * scale for o in runtime(batch)]
    model = candidate_model(spec)
    if path != 'eager':
        model.model.backbone.switch_to_deploy()
    if path == 'PyTorch, deployed + torch.compile':
        model = torch.compile(model)

    def call():
        with torch.no_grad():
            return [o.numpy() for o in model(x)]

    return call


def worker(conn, spec: dict) -> None:
    """A candidate in a process of its own: builds it, returns its outputs
    on the benchmark's images, then times blocks of calls on request."""
    torch.set_num_threads(spec['threads'])
    warnings.simplefilter('ignore')
    try:
        call = candidate_call(spec)
        conn.send(('ready', call()))
    except Exception as e:
        conn.send(('error', f'{type(e).__name__}: {e}'))
        return
    block = local_block(call)
    while True:
        n = conn.recv()
        if n is None:
            return
        conn.send(block(n))


class Candidate:
    """A (model, path) row, run by a worker process."""

    def __init__(self, spec: dict, expected: List[np.ndarray]) -> None:
        self.spec = spec
        #: The eager model's outputs on the benchmark's images.
        self.expected = expected
        self.model, self.path = spec['label'], spec['path']
        self.diff: Optional[float] = None
        self.note = spec.get('note', '')
        self.seconds: Dict[int, float] = {}
        self.process = self.conn = None

    @property
    def name(self) -> str:
        return f'{self.model} | {self.path}'

    def start(self, context, atol: float) -> bool:
        """Start the worker and check its outputs against the eager
        model's; False when it fails (the reason in ``note``)."""
        if self.note:
            return False
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker, args=(child, self.spec), daemon=True
        )
        self.process.start()
        status, result = self.conn.recv()
        if status == 'error':
            self.note = f'fails: {result.splitlines()[0][:80]}'
            self.stop()
            return False
        self.diff = max(
            float(np.abs(g - e).max()) for g, e in zip(result, self.expected)
        )
        if self.diff > atol:
            self.note = f'FAILED check ({self.diff:.1e})'
            self.stop()
            return False
        return True

    def block(self, n: int) -> float:
        self.conn.send(n)
        return self.conn.recv()

    def stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.conn.send(None)
            self.process.join(timeout=30)
            self.process = None


def candidates_of(args, batch: int, tmp: str) -> List[Candidate]:
    """Every candidate of one batch size, its model exported where a
    runtime path needs it, with the eager outputs to check against."""
    base = dict(
        batch=batch,
        shape=list(args.shape),
        arch=args.arch,
        threads=args.threads,
    )
    if args.task == 'seg':
        models = [
            dict(
                model='seg',
                label=(f'ours, FCN Lite-HRNet-{args.arch}, Cityscapes'),
            )
        ]
    else:
        models = [
            dict(
                model='port',
                label=(
                    f"mmpose's Lite-HRNet-{args.arch} port "
                    f'({PORT_AP.get(args.arch, "")})'
                ),
            ),
            dict(
                model='ours',
                label=f'ours, Lite-HRNet-{args.arch} '
                f'({OURS_AP.get(args.arch, "")})',
            ),
        ]
        if args.peers:
            models += [
                dict(model='peer', name=name, label=name) for name in PEERS
            ]
    out = []
    for entry in models:
        spec = {**base, **entry}
        log(f'building {spec["label"]}, batch {batch}')
        model = candidate_model(spec)
        x = images(spec)
        with torch.no_grad():
            expected = [o.numpy() for o in model(x)]
        paths = ['eager']
        if spec['model'] in ('ours', 'seg'):
            paths.append('PyTorch, deployed')
            if args.compile:
                paths.append('PyTorch, deployed + torch.compile')
        file = os.path.join(tmp, f'{spec["model"]}-{len(out)}-b{batch}.onnx')
        note = ''
        try:
            if spec['model'] in ('ours', 'seg'):
                export_onnx(
                    copy.deepcopy(model.model),
                    args.shape,
                    file,
                    batch=batch,
                    check=False,
                )
            else:
                plain_export(model.model, x, file)
        except Exception as e:  # a model that does not export is a result
            note = f'export fails ({type(e).__name__})'
        for path in paths + list(RUNTIMES):
            c = Candidate(
                {
                    **spec,
                    'path': path,
                    'file': file,
                    'scale': model.scale,
                    'note': note if path in RUNTIMES else '',
                },
                expected,
            )
            out.append(c)
    return out


def train_candidates(args) -> Dict[str, Block]:
    """Forward and backward of the port and ours, in this process (no
    runtime thread pools in it)."""
    shape, batch = args.shape, args.train_batch
    x = torch.rand(batch, 3, *shape)
    target = torch.rand(batch, 17, -(-shape[0] // 4), -(-shape[1] // 4))
    ours = PoseModel(LiteHRNet(arch=args.arch), 17)
    random_weights_(ours, (2, 3, *shape))
    port = port_model(args.arch)
    port.load_state_dict(ours.state_dict())
    blocks = {}
    for name, model in (
        (f"mmpose's Lite-HRNet-{args.arch} port", port),
        (f'ours, Lite-HRNet-{args.arch}', ours),
    ):
        model.train()

        def step(m=model):
            m.zero_grad(set_to_none=True)
            (m(x) - target).pow(2).mean().backward()

        blocks[name] = local_block(step)
    return blocks


def inference_table(
    rows: List[Candidate], batches: List[int], base: str
) -> str:
    """Latency at the first batch size, throughput at the others, each
    with its ratio to ``base`` (the port's eager row, or ours eager)."""
    reference = next(r for r in rows if r.name == base)
    header = ['model', 'path', 'max abs diff vs eager']
    for b in batches:
        header += (
            [f'batch {b}: ms', 'x ref']
            if b == batches[0]
            else [f'batch {b}: img/s', 'x ref']
        )
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '| ' + ' | '.join('---' for _ in header) + ' |',
    ]
    for row in rows:
        cells = [row.model, row.path]
        cells.append('' if row.diff is None else f'{row.diff:.1e}')
        for b in batches:
            t = row.seconds.get(b)
            if t is None:
                cells += [row.note or '', '']
                continue
            ref = reference.seconds.get(b)
            value = f'{t * 1e3:.1f}' if b == batches[0] else f'{b / t:.0f}'
            cells += [value, f'{ref / t:.2f}' if ref else '']
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def best_paths(rows: List[Candidate], batches: List[int]) -> str:
    """Each model's fastest path at each batch size."""
    lines = []
    models = list(dict.fromkeys(r.model for r in rows))
    for b in batches:
        parts = []
        for model in models:
            timed = [r for r in rows if r.model == model and b in r.seconds]
            if timed:
                best = min(timed, key=lambda r: r.seconds[b])
                t = best.seconds[b]
                figure = (
                    f'{t * 1e3:.1f} ms'
                    if b == batches[0]
                    else (f'{b / t:.0f} img/s')
                )
                parts.append(f'{model}: {figure} ({best.path})')
        lines.append(f'- batch {b}, best path: ' + '; '.join(parts))
    return '\n'.join(lines)


def profile(args, tmp: str) -> str:
    """Where the time goes: ONNX Runtime's and OpenVINO's time per op
    type for our model, static export (and, for comparison, the export
    with a dynamic batch axis)."""
    shape = args.shape
    ours = calibrated(PoseModel(LiteHRNet(arch=args.arch), 17), shape)
    x = np.random.rand(1, 3, *shape).astype(np.float32)
    sections = []
    for label, dynamic in (('static', False), ('dynamic batch', True)):
        file = os.path.join(tmp, f'profile-{dynamic}.onnx')
        export_onnx(
            copy.deepcopy(ours.model),
            shape,
            file,
            dynamic_batch=dynamic,
            check=False,
        )
        import onnx

        nodes = collections.Counter(
            n.op_type for n in onnx.load(file).graph.node
        )
        sections.append(
            f'ours, {label} export: {sum(nodes.values())} ONNX nodes ('
            + ', '.join(f'{n} {op}' for op, n in nodes.most_common(8))
            + ')'
        )
        sections.append(ort_profile(file, x, args.threads))
        if not dynamic:
            sections.append(openvino_profile(file, x, args.threads))
    return '\n\n'.join(sections)


def _profile_table(title: str, per_op: Dict[str, Tuple[float, int]]) -> str:
    total = sum(t for t, _ in per_op.values())
    lines = [
        f'{title}: {total:.2f} ms per call in the profiled ops',
        '',
        '| op | ms per call | share | nodes |',
        '| --- | --- | --- | --- |',
    ]
    for op, (t, n) in sorted(per_op.items(), key=lambda kv: -kv[1][0])[:12]:
        lines.append(f'| {op} | {t:.2f} | {100 * t / total:.0f}% | {n} |')
    return '\n'.join(lines)


def ort_profile(file: str, x: np.ndarray, threads: int, calls=30) -> str:
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
    return _profile_table(
        'ONNX Runtime, by op type (after its graph optimisations)',
        {k: (v[0], round(v[1])) for k, v in per_op.items()},
    )


def openvino_profile(file: str, x: np.ndarray, threads: int, calls=30):
    import openvino as ov

    compiled = ov.Core().compile_model(
        file,
        'CPU',
        {
            'INFERENCE_PRECISION_HINT': 'f32',
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
    return _profile_table(
        'OpenVINO, by layer type (last call)',
        {k: (v[0], v[1]) for k, v in per_op.items()},
    )


def run_inference(args, batches: List[int], tmp: str) -> str:
    """Every candidate at every batch size, each in a worker process,
    checked, then timed in interleaved blocks."""
    context = multiprocessing.get_context('spawn')
    rows: Dict[str, Candidate] = {}
    for batch in batches:
        candidates = candidates_of(args, batch, tmp)
        running = []
        try:
            for c in candidates:
                log(f'starting {c.name}')
                if c.start(context, args.atol):
                    running.append(c)
                else:
                    log(f'  {c.note}')
            log(f'timing {len(running)} candidates, batch {batch}')
            results = time_blocks(
                {c.name: c.block for c in running},
                rounds=args.rounds,
                block_seconds=args.block_seconds,
                pause=args.pause,
                log=log,
            )
        finally:
            for c in candidates:
                c.stop()
        for c in candidates:
            row = rows.setdefault(c.name, c)
            if c.name in results:
                row.seconds[batch] = results[c.name].median
            if c.diff is not None:
                row.diff = max(row.diff or 0.0, c.diff)
            row.note = row.note or c.note
    table = list(rows.values())
    return (
        inference_table(table, batches, table[0].name)
        + '\n\n'
        + best_paths(table, batches)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', choices=['pose', 'seg'], default='pose')
    parser.add_argument('--arch', default='18', choices=['18', '30'])
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='H W (default 256 192; seg 512 1024)',
    )
    parser.add_argument(
        '--batch-sizes',
        type=int,
        nargs='+',
        help='default 1 16 (pose), 1 (seg); latency at the first, '
        'throughput at the others',
    )
    parser.add_argument('--no-peers', dest='peers', action='store_false')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='also time the deploy form under torch.compile',
    )
    parser.add_argument(
        '--train',
        action='store_true',
        help='time a training step instead of inference',
    )
    parser.add_argument('--train-batch', type=int, default=16)
    parser.add_argument(
        '--profile',
        action='store_true',
        help='per-op profile of our exported model instead',
    )
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--block-seconds', type=float, default=0.5)
    parser.add_argument('--pause', type=float, default=0.2)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--atol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    seg = args.task == 'seg'
    args.shape = parse_shape(args.shape) or (
        (512, 1024) if seg else (256, 192)
    )
    batches = args.batch_sizes or ([1] if seg else [1, 16])
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before, start = load_average(), time.time()
    command = 'python tools/analysis/benchmark.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            body = profile(args, tmp)
        elif args.train:
            log(f'timing the training step, batch {args.train_batch}')
            results = time_blocks(
                train_candidates(args),
                rounds=args.rounds,
                block_seconds=args.block_seconds,
                pause=args.pause,
                log=log,
            )
            base = next(iter(results.values())).median
            body = '\n'.join(
                [
                    f'| training step, batch {args.train_batch} '
                    '| ms | x port |',
                    '| --- | --- | --- |',
                ]
                + [
                    f'| {name} | {t.median * 1e3:.0f} | '
                    f'{base / t.median:.2f} |'
                    for name, t in results.items()
                ]
            )
        else:
            body = run_inference(args, batches, tmp)
    h, w = args.shape
    print(
        f'{args.task}, {h}x{w}, fp32, '
        f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}; '
        f'{machine(args.threads)}; load average {load_before} before, '
        f'{load_average()} after; {time.time() - start:.0f} s; `{command}`'
    )
    print()
    print(body)


if __name__ == '__main__':
    main()
