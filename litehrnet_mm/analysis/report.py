"""The benchmark's markdown: the heading line (date, machine, load,
command) and the tables of timed paths."""

import os
import platform
import time
from importlib import metadata
from typing import Dict, List, Sequence

from .worker import Worker

# The distribution that provides each runtime (for its version).
_DISTRIBUTIONS = {
    'onnxruntime': 'onnxruntime',
    'openvino': 'openvino',
    'ncnn': 'ncnn',
    'executorch': 'executorch',
    'litert': 'ai-edge-litert',
}


def load_average() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(runtimes: Sequence[str]) -> str:
    """``torch X, onnxruntime Y, ...`` for torch and the runtimes that are
    installed."""
    found = []
    for name in ['torch', *runtimes]:
        try:
            version = metadata.version(_DISTRIBUTIONS.get(name, name))
        except metadata.PackageNotFoundError:
            continue
        found.append(f'{name} {version.split("-")[0]}')
    return ', '.join(found)


def heading(
    what: str,
    threads: int,
    runtimes: Sequence[str],
    load_before: str,
    seconds: float,
    command: str,
) -> str:
    """``WHAT, DATE; MACHINE; load average ...; N s; `COMMAND```."""
    date = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    return (
        f'{what}, {date}; {cpu_name()}, {os.cpu_count()} cores, {threads} '
        f'threads; {versions(runtimes)}; load average {load_before} '
        f'before, {load_average()} after; {seconds:.0f} s; `{command}`'
    )


def _cells(row: Worker) -> List[str]:
    c = row.spec['candidate']
    path = row.spec['path']
    runtime, _, precision = path.partition(' ')
    if path in ('eager', 'deployed'):
        runtime = 'PyTorch' if path == 'eager' else 'PyTorch, deploy form'
        precision = 'fp32'
    diff = '' if row.diff is None else f'{row.diff:.1e}'
    return [c.label, c.ap, runtime, precision, diff]


def inference_table(
    rows: List[Worker], batches: List[int], metric: str = 'AP'
) -> str:
    """Latency at the first batch size, throughput at the others, each
    with its ratio to the first row (the reference); ``metric`` names the
    published accuracy column (COCO ``'AP'``, Cityscapes ``'mIoU'``)."""
    reference = rows[0].seconds
    header = ['model', metric, 'runtime', 'precision', 'max abs diff vs eager']
    for b in batches:
        unit = 'ms' if b == batches[0] else 'img/s'
        header += [f'batch {b}: {unit}', 'x ref']
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '| ' + ' | '.join('---' for _ in header) + ' |',
    ]
    for row in rows:
        cells = _cells(row)
        for b in batches:
            t = row.seconds.get(b)
            if t is None:
                cells += [row.note, '']
                continue
            value = f'{t * 1e3:.1f}' if b == batches[0] else f'{b / t:.0f}'
            ref = reference.get(b)
            cells += [value, f'{ref / t:.2f}' if ref else '']
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def best_paths(rows: List[Worker], batches: List[int]) -> str:
    """Each model's fastest path at each batch size."""
    lines = []
    labels = list(dict.fromkeys(r.spec['candidate'].label for r in rows))
    for b in batches:
        parts = []
        for label in labels:
            timed = [
                r
                for r in rows
                if r.spec['candidate'].label == label and b in r.seconds
            ]
            if timed:
                best = min(timed, key=lambda r: r.seconds[b])
                t = best.seconds[b]
                figure = (
                    f'{t * 1e3:.1f} ms'
                    if b == batches[0]
                    else f'{b / t:.0f} img/s'
                )
                parts.append(f'{label}: {figure} ({best.spec["path"]})')
        lines.append(f'- batch {b}, best path: ' + '; '.join(parts))
    return '\n'.join(lines)


def steps_table(title: str, seconds: Dict[str, float]) -> str:
    """A table of training steps, each with its ratio to the first."""
    base = next(iter(seconds.values()))
    lines = [f'| {title} | ms | x first |', '| --- | --- | --- |']
    lines += [
        f'| {name} | {t * 1e3:.0f} | {base / t:.2f} |'
        for name, t in seconds.items()
    ]
    return '\n'.join(lines)
