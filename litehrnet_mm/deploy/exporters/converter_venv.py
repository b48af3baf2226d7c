"""The venv of the heavy converters (ExecuTorch, LiteRT), run as a
subprocess.

Both converters need numpy 2 while the OpenMMLab stack needs numpy 1, so
they live in a venv of their own (``make install-converters`` makes
``.venv-converters`` beside the project's ``.venv``; it sees that venv's
torch). The model crosses over as a ``torch.export`` program saved to a
file, which loads without litehrnet_mm, mmpose or mmseg; the calibration
images as one ``.npy`` file. :mod:`.convert_in_venv` is the script that
runs there: one process per converters venv, started at the first
conversion and kept for the next ones (a conversion's own work is 30-80 s
here; the interpreter and the converters' imports, about 15 s of it, are
paid once per process), ended when this process exits.
"""

import atexit
import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from litehrnet_mm.errors import LiteHRNetError

from .convert_in_venv import DONE

#: Names a converters venv (its folder or its python) other than the
#: default ``.venv-converters`` beside the running venv.
ENV_VAR = 'LITEHRNET_MM_CONVERTERS'

#: The runtimes whose exporters convert in that venv
#: (:func:`convert_in_venv`): export.py looks for it before any work.
CONVERTED_IN_VENV = ('executorch', 'litert')

_SCRIPT = Path(__file__).with_name('convert_in_venv.py')


def converters_python() -> str:
    """The python of the converters venv; one clear error when there is
    none."""
    named = os.environ.get(ENV_VAR)
    if named:
        candidates = [Path(named), Path(named) / 'bin' / 'python']
    else:
        candidates = [Path(sys.prefix).parent / '.venv-converters/bin/python']
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise LiteHRNetError(
        'the ExecuTorch and LiteRT converters need their own venv (numpy 2) '
        f'and none was found at {", ".join(map(str, candidates))}: run '
        '`make install-converters` (or set '
        f'{ENV_VAR} to such a venv)'
    )


def converters_site_packages() -> Optional[str]:
    """The converters venv's site-packages, or None when there is none
    (the runtimes that need one of its packages read it from there)."""
    try:
        python = Path(converters_python())
    except LiteHRNetError:
        return None
    found = sorted(python.parent.parent.glob('lib/python*/site-packages'))
    return str(found[0]) if found else None


def save_program(
    model: nn.Module, example: torch.Tensor, work_dir: str
) -> str:
    """``torch.export`` of ``model`` on ``example``, saved in ``work_dir``
    (static shapes); returns the file."""
    file = os.path.join(work_dir, 'model.pt2')
    with torch.no_grad():
        program = torch.export.export(model.eval(), (example,))
    torch.export.save(program, file)
    return file


def save_images(images: List[np.ndarray], work_dir: str) -> str:
    """``images`` (each (1, 3, H, W)) as one ``.npy`` file."""
    file = os.path.join(work_dir, 'calib.npy')
    np.save(file, np.concatenate(images).astype(np.float32))
    return file


#: The serving converter process of each converters python.
_SERVERS: Dict[str, subprocess.Popen] = {}


def _server(python: str) -> subprocess.Popen:
    """The converter process of ``python``, started if there is none or it
    has ended."""
    server = _SERVERS.get(python)
    if server is None or server.poll() is not None:
        # Isolated (-I): the script imports only torch, numpy and the
        # converters, and nothing of this process's path (an editable
        # tree, numpy 1) nor the script's own folder
        # (exporters/executorch.py) may shadow them.
        server = subprocess.Popen(
            [python, '-I', str(_SCRIPT), '--serve'],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        _SERVERS[python] = server
    return server


@atexit.register
def stop_converters() -> None:
    """End the converter processes (their standard input closes; they
    finish the request they serve, if any)."""
    while _SERVERS:
        _, server = _SERVERS.popitem()
        try:
            server.stdin.close()
            server.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            server.kill()


def run_converter(job: Dict[str, object], work_dir: str) -> Dict[str, object]:
    """Run :mod:`.convert_in_venv` on ``job`` (a JSON-able dict naming the
    runtime, precision, program, images and output) in the converters
    venv's process; returns what it reports."""
    python = converters_python()
    request = os.path.join(work_dir, 'convert_request.json')
    report = os.path.join(work_dir, 'convert_report.json')
    with open(request, 'w') as f:
        json.dump(dict(job, report=report), f)
    server = _server(python)
    tail: collections.deque = collections.deque(maxlen=30)
    status = None
    try:
        server.stdin.write(request + '\n')
        server.stdin.flush()
    except BrokenPipeError:
        pass  # it ended before the request: its output and exit say why
    for line in server.stdout:
        if line.startswith(DONE):
            status = line[len(DONE) :].strip()
            break
        tail.append(line.rstrip('\n'))
    if status is None:
        why = f'exit {server.wait()}'
    elif status != 'ok':
        why = 'the converter raised'
    elif not os.path.isfile(report):
        why = f'it wrote no report {report}'
    else:
        with open(report) as f:
            return json.load(f)
    raise RuntimeError(
        f'{job["runtime"]} conversion failed ({why}) in {python}:\n'
        + '\n'.join(tail)
    )


def design_modules() -> List[str]:
    """The module names whose convs Lite-HRNet's int8 design keeps in fp32
    besides the depthwise convs and the first conv (the convs on pooled
    maps: :data:`~litehrnet_mm.deploy.quantize.POOLED_CONVS`)."""
    from ..quantize import POOLED_CONVS

    return [p.strip('/') for p in POOLED_CONVS]


def convert_in_venv(job, runtime: str) -> Dict[str, object]:
    """Save the model of ``job`` (an
    :class:`~litehrnet_mm.deploy.exporters.ExportJob`) as a program, and its
    calibration images for int8, and convert it to ``runtime`` in the
    converters venv; returns the converter's report. int8 follows
    Lite-HRNet's int8 design (``job.int8_design``: only the convs that are
    not depthwise, first or on pooled maps read int8) or quantizes every op
    the quantizer takes (the benchmark's peers)."""
    height, width = job.shape
    example = torch.rand(job.batch, 3, height, width)
    request = {
        'runtime': runtime,
        'precision': job.precision,
        'program': save_program(job.model, example, job.work_dir),
        'output': job.output,
        'images': None,
    }
    if job.precision == 'int8':
        if not job.calib:
            raise ValueError(
                f'{runtime} int8 needs calibration images (ExportJob.calib: '
                'a list of (1, 3, H, W) float32 arrays)'
            )
        request['images'] = save_images(job.calib, job.work_dir)
        request['fp32_modules'] = design_modules() if job.int8_design else None
    return dict(run_converter(request, job.work_dir), precision=job.precision)
