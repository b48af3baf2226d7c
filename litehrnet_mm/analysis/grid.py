"""The benchmark's grid: every candidate by every path, each path in a
worker process of its own, checked against the eager model, then all
timed together in interleaved blocks.

A candidate's paths: PyTorch eager, our deploy form (our models only), and
one exported artifact per (runtime, precision) pair asked for that exists
(:data:`litehrnet_mm.deploy.export.PRECISIONS`), run by ``load_runtime``.
int8 artifacts are calibrated on random images of the timed distribution:
the weights are random, so these runs are about speed, never accuracy.
"""

import contextlib
import os
import sys
from typing import Callable, Dict, List, Sequence, Tuple

from litehrnet_mm.deploy.exporters.converter_venv import stop_converters
from litehrnet_mm.deploy.runtimes import RUNTIMES
from litehrnet_mm.utils.cli import first_line

from .candidates import (
    Candidate,
    benchmark_images,
    build,
    calibration_images,
    export_artifact,
)
from .timing import time_blocks
from .worker import Worker

#: The main file of each runtime's artifact (the suffix its exporter
#: writes).
SUFFIXES = {name: cls.suffixes[0] for name, cls in RUNTIMES.items()}


def paths_of(
    candidate: Candidate,
    shape: Tuple[int, int],
    batch: int,
    threads: int,
    runtimes: Sequence[str],
    precisions: Sequence[str],
    folder: str,
    torch_paths: bool = True,
    calib_images: int = 16,
    log: Callable[[str], None] = print,
) -> List[Worker]:
    """The workers (not started) of one candidate at one batch size; a path
    whose export fails carries the reason as its note."""
    import torch

    from litehrnet_mm.deploy.export import PRECISIONS

    log(f'building {candidate.label}, batch {batch}')
    base = dict(candidate=candidate, shape=shape, batch=batch, threads=threads)
    try:
        model = build(candidate, shape)
        with torch.no_grad():
            x = benchmark_images(batch, shape)
            expected = [o.numpy() for o in model(x)]
    except Exception as e:  # a model that does not run at this size
        note = f'does not run at {shape[0]}x{shape[1]} ({type(e).__name__})'
        log(f'  {note}: {first_line(e)}')
        return [Worker({**base, 'path': 'eager'}, [], note)]
    workers = []
    if torch_paths:
        workers.append(Worker({**base, 'path': 'eager'}, expected))
        if candidate.kind in ('ours', 'seg'):
            workers.append(Worker({**base, 'path': 'deployed'}, expected))
    calib = calibration_images(shape, calib_images)
    for runtime in runtimes:
        for precision in precisions:
            if precision not in PRECISIONS.get(runtime, ()):
                continue
            path = f'{runtime} {precision}'
            name = f'{candidate.key}-b{batch}-{runtime}-{precision}'
            file = os.path.join(folder, name + SUFFIXES.get(runtime, ''))
            note = ''
            try:
                # Quantizers draw progress bars on stdout; the tables own it.
                with contextlib.redirect_stdout(sys.stderr):
                    file = export_artifact(
                        model,
                        runtime,
                        precision,
                        shape,
                        file,
                        batch,
                        calib if precision == 'int8' else None,
                    )
            except Exception as e:  # a model that does not export is a result
                note = f'export fails ({type(e).__name__})'
                log(f'  {path}: {note}: {first_line(e)}')
            workers.append(
                Worker({**base, 'path': path, 'file': file}, expected, note)
            )
    return workers


def run_grid(
    batches: Sequence[int],
    workers_of: Callable[[int], List[Worker]],
    context,
    atol: float,
    rounds: int,
    block_seconds: float,
    pause: float,
    log: Callable[[str], None] = print,
) -> List[Worker]:
    """For each batch size: start ``workers_of(batch)``, check each (fp32
    paths within ``atol`` of eager; reduced precisions report their
    difference), time all that run together, stop them. Returns one row
    per path, its median seconds per call by batch size."""
    rows: Dict[str, Worker] = {}
    for batch in batches:
        workers = workers_of(batch)
        results = {}
        try:
            running = []
            for w in workers:
                log(f'starting {w.name}')
                reduced = not w.spec['path'].endswith(
                    ('fp32', 'eager', 'deployed')
                )
                if w.start(context, None if reduced else atol):
                    running.append(w)
                else:
                    log(f'  {w.note}')
            stop_converters()  # an idle converter holds GBs while timed
            log(f'timing {len(running)} paths, batch {batch}')
            if running:
                results = time_blocks(
                    {w.name: w.block for w in running},
                    rounds=rounds,
                    block_seconds=block_seconds,
                    pause=pause,
                    log=log,
                )
        finally:
            for w in workers:
                w.stop()
        for w in workers:
            row = rows.setdefault(w.name, w)
            if w.name in results:
                timing = results[w.name]
                row.seconds[batch] = timing.median
                row.spread[batch] = timing.high / timing.low
            if w.diff is not None:
                row.diff = max(row.diff or 0.0, w.diff)
            row.note = row.note or w.note
    return list(rows.values())
