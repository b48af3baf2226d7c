"""Latency, throughput and training-step time of Lite-HRNet against
mmpose's port, measured in one process with interleaved rounds.

Every candidate gets the same weights (random, with BN statistics taken
from a forward pass, so activations have realistic magnitudes and no
denormals). Each round runs every candidate once, in a rotating order, and
the figure reported is the median over rounds, so a burst of load from
other processes touches every candidate alike.
"""

import copy
import os
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm.models.backbones.arch import arch_to_extra
from litehrnet_mm.models.backbones.litehrnet import LiteHRNet

from .models import PoseModel

PORT = "mmpose's port (eager)"


def realistic_weights_(model: nn.Module, shape, seed: int = 0) -> nn.Module:
    """Kaiming-normal convs and BN statistics of one forward pass."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(
                    torch.randn(m.weight.shape, generator=gen)
                    * (2.0 / fan_in) ** 0.5
                )
            if isinstance(m, _BatchNorm):
                m.reset_running_stats()
                m.momentum = None
        model.train()
        model(torch.rand(2, 3, *shape, generator=gen))
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.momentum = 0.1
    return model.eval()


def _port(arch: str, num_keypoints: int) -> nn.Module:
    from mmpose.models.backbones import LiteHRNet as PortLiteHRNet

    backbone = PortLiteHRNet(extra=arch_to_extra(arch))
    backbone.out_channels = (
        arch_to_extra(arch)['stages_spec']['num_channels'][-1][0],
    )
    return PoseModel(backbone, num_keypoints)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    candidates: Dict[str, Callable[[], object]],
    rounds: int,
    log: Callable[[str], None],
    what: str,
) -> Dict[str, float]:
    """Median seconds per call of each candidate over ``rounds`` rounds."""
    names = list(candidates)
    times: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed(candidates[name]))
        log(
            f'  {what}: round {r + 1}/{rounds}  '
            + '  '.join(
                f'{n.split(" (")[0]} {statistics.median(times[n]) * 1e3:.1f}'
                for n in names
            )
            + ' ms'
        )
    return {n: statistics.median(t) for n, t in times.items()}


def run_benchmark(
    arch: str = '18',
    shape: Sequence[int] = (256, 192),
    batch_sizes: Sequence[int] = (1, 16),
    rounds: Sequence[int] = (40, 8),
    train_rounds: int = 6,
    with_compile: bool = True,
    with_onnx: bool = True,
    with_train: bool = True,
    with_infer: bool = True,
    threads: Optional[int] = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr),
) -> Dict[str, Dict[str, float]]:
    """Run the benchmark; returns ``{row: {column: seconds per call}}``.

    Rows: the port, ours eager, ours deployed, ours deployed under
    ``torch.compile``, ONNX Runtime (inference, ``'infer bN'`` columns);
    the port and ours, NCHW and channels-last, for a training step
    (forward and backward, ``'train bN'``).
    """
    if threads is not None:
        torch.set_num_threads(threads)
    shape = tuple(int(s) for s in shape)
    torch.manual_seed(0)
    log(
        f'building models (arch {arch}, {shape[0]}x{shape[1]}, '
        f'{torch.get_num_threads()} threads)'
    )
    ours = realistic_weights_(PoseModel(LiteHRNet(arch=arch), 17), shape)
    port = _port(arch, 17)
    port.load_state_dict(ours.state_dict())
    port.eval()
    deployed = copy.deepcopy(ours)
    deployed.backbone.switch_to_deploy()

    inference: Dict[str, Callable[[torch.Tensor], object]] = {
        PORT: port,
        'ours, eager': ours,
        'ours, deployed': deployed,
    }
    if not with_infer:
        inference, with_compile, with_onnx = {}, False, False
    if with_compile:
        compiled_model = copy.deepcopy(ours)
        compiled_model.backbone.switch_to_deploy()
        inference['ours, deployed + torch.compile'] = torch.compile(
            compiled_model
        )
    onnx_dir = None
    if with_onnx:
        from litehrnet_mm.deploy.onnx import export_onnx, ort_session

        onnx_dir = tempfile.TemporaryDirectory()
        file = os.path.join(onnx_dir.name, 'model.onnx')
        log('exporting to ONNX')
        diff = export_onnx(copy.deepcopy(ours), shape, file)
        log(f'  ONNX max abs diff vs PyTorch: {diff:.2e}')
        session = ort_session(file, threads=torch.get_num_threads())
        inference['ONNX Runtime (deployed)'] = lambda x: session.run(
            None, {'input': x.numpy()}
        )

    results: Dict[str, Dict[str, float]] = {n: {} for n in inference}
    with torch.no_grad():
        for batch, n_rounds in zip(batch_sizes, rounds if inference else ()):
            x = torch.rand(batch, 3, *shape)
            for name, fn in inference.items():
                log(f'warming up {name}, batch {batch}')
                start = time.perf_counter()
                fn(x)
                fn(x)
                log(f'  {time.perf_counter() - start:.1f} s')
            medians = interleaved(
                {n: (lambda f=f, x=x: f(x)) for n, f in inference.items()},
                n_rounds,
                log,
                f'inference, batch {batch}',
            )
            for name, t in medians.items():
                results[name][f'infer b{batch}'] = t

    if with_train:
        batch = max(batch_sizes)
        x = torch.rand(batch, 3, *shape)
        target = torch.rand(batch, 17, shape[0] // 4, shape[1] // 4)
        train_models = {
            PORT: copy.deepcopy(port),
            'ours, eager': copy.deepcopy(ours),
            "mmpose's port, channels-last": copy.deepcopy(port).to(
                memory_format=torch.channels_last
            ),
            'ours, eager, channels-last': copy.deepcopy(ours).to(
                memory_format=torch.channels_last
            ),
        }
        x_cl = x.contiguous(memory_format=torch.channels_last)

        def step(model, inp):
            model.train()
            model.zero_grad(set_to_none=True)
            loss = (model(inp) - target).pow(2).mean()
            loss.backward()

        steps = {
            n: (
                lambda m=m, cl='channels-last' in n: step(m, x_cl if cl else x)
            )
            for n, m in train_models.items()
        }
        for name, fn in steps.items():
            log(f'warming up training step of {name}')
            fn()
        medians = interleaved(
            steps, train_rounds, log, f'training step, batch {batch}'
        )
        for name, t in medians.items():
            results.setdefault(name, {})[f'train b{batch}'] = t
        results = {PORT: results.pop(PORT), **results}
    if onnx_dir is not None:
        onnx_dir.cleanup()
    return results


def format_table(results: Dict[str, Dict[str, float]]) -> str:
    """A markdown table: batch 1 latency, batch-N throughput and training
    step time, each with its ratio to the port (higher is better)."""
    base = results[PORT]
    header = ['path']
    rows = []
    columns = sorted(
        {c for r in results.values() for c in r},
        key=lambda c: (c.startswith('train'), int(c.split('b')[-1])),
    )
    for c in columns:
        kind, batch = c.split(' b')
        if kind == 'infer' and batch == '1':
            header += ['latency b1 (ms)', 'x port']
        elif kind == 'infer':
            header += [f'throughput b{batch} (img/s)', 'x port']
        else:
            header += [f'train step b{batch} (ms)', 'x port']
    for name, row in results.items():
        cells = [name]
        for c in columns:
            if c not in row:
                cells += ['', '']
                continue
            kind, batch = c.split(' b')
            t, ratio = row[c], base[c] / row[c] if c in base else None
            if kind == 'infer' and batch != '1':
                cells.append(f'{int(batch) / t:.1f}')
            else:
                cells.append(f'{t * 1e3:.1f}')
            cells.append(f'{ratio:.2f}x' if ratio is not None else '')
        rows.append(cells)
    lines = ['| ' + ' | '.join(header) + ' |']
    lines.append('| ' + ' | '.join('---' for _ in header) + ' |')
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)
