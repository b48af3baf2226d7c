"""The benchmark's markdown: the heading line (date, machine, load,
command) and the tables of timed paths."""

import os
import platform
import time
from importlib import metadata
from typing import Dict, List, Optional, Sequence

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


def busy() -> str:
    """A warning when the machine is busy before a run (a load average
    over the last minute of at least its cores), else ``''``: the
    timings' rounds then spread (see :data:`SPREAD`)."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return ''
    cores = os.cpu_count() or 1
    if load < cores:
        return ''
    return (
        f'load average {load:.2f} on {cores} cores before the run: other '
        'processes compete for the CPU, and the timings will spread; rerun '
        'on a quiet machine for figures to quote'
    )


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
    plural = '' if threads == 1 else 's'
    return (
        f'{what}, {date}; {cpu_name()}, {os.cpu_count()} cores, {threads} '
        f'thread{plural}; {versions(runtimes)}; load average {load_before} '
        f'before, {load_average()} after; {seconds:.0f} s; `{command}`'
    )


#: A path whose slowest round took more than this times its fastest is
#: marked: the machine was busy while it ran, its median is unsure.
SPREAD = 1.5


def per_second(value: float) -> str:
    """Images per second, to three significant figures (whole numbers
    from 100 up)."""
    if value >= 100:
        return f'{value:.0f}'
    return f'{value:.3g}'


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
    with its ratio to the reference: the first row timed at that batch
    size (named under the table when it is not the first row); ``metric``
    names the published accuracy column (COCO ``'AP'``, Cityscapes
    ``'mIoU'``). A figure whose rounds spread by more than :data:`SPREAD`
    is marked ``*``."""
    header = ['model', metric, 'runtime', 'precision', 'max abs diff vs eager']
    for b in batches:
        unit = 'ms' if b == batches[0] else 'img/s'
        header += [f'batch {b}: {unit}', 'x ref']
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '| ' + ' | '.join('---' for _ in header) + ' |',
    ]
    references = {}
    for b in batches:
        timed = [r for r in rows if b in r.seconds]
        if timed:
            references[b] = timed[0]
    spread = False
    for row in rows:
        cells = _cells(row)
        for b in batches:
            t = row.seconds.get(b)
            if t is None:
                cells += [row.note, '']
                continue
            value = f'{t * 1e3:.1f}' if b == batches[0] else per_second(b / t)
            if row.spread.get(b, 1.0) > SPREAD:
                value, spread = value + '*', True
            ref = references[b].seconds[b]
            cells += [value, f'{ref / t:.2f}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = []
    for b, ref in references.items():
        if ref is not rows[0]:
            label = f'{ref.spec["candidate"].label}, {ref.spec["path"]}'
            notes.append(
                f'x ref at batch {b}: over the row {label}, the first timed '
                'there'
            )
    if spread:
        notes.append(
            f'\\* its rounds spread by more than {SPREAD}x (slowest over '
            'fastest): the machine was busy, the median is unsure'
        )
    return '\n'.join(lines + ([''] + notes if notes else []))


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
                    else f'{per_second(b / t)} img/s'
                )
                parts.append(f'{label}: {figure} ({best.spec["path"]})')
        lines.append(f'- batch {b}, best path: ' + '; '.join(parts))
    return '\n'.join(lines)


def steps_table(
    title: str,
    seconds: Dict[str, float],
    notes: Optional[Dict[str, str]] = None,
) -> str:
    """A table of training steps, each with its ratio to the first timed;
    ``notes``: the steps that could not run, and why."""
    base = next(iter(seconds.values()), None)
    lines = [f'| {title} | ms | x first |', '| --- | --- | --- |']
    lines += [
        f'| {name} | {t * 1e3:.0f} | {base / t:.2f} |'
        for name, t in seconds.items()
    ]
    lines += [f'| {name} | {note} | |' for name, note in (notes or {}).items()]
    return '\n'.join(lines)
