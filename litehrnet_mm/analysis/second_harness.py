"""A second harness for the benchmark's OpenVINO figures: OpenVINO's own
``benchmark_app``, run on the artifacts the benchmark kept
(``tools/analysis/benchmark.py --keep DIR``).

It shares nothing with :mod:`litehrnet_mm.analysis.timing` but the
artifacts: its own process per measurement, OpenVINO's own timing loop
and statistics (the median latency of one request, inputs filled
outside the loop), the threads and inference precision each artifact's
metadata asks for. Rounds interleave the artifacts (each round in a
rotated order) and the median over rounds is kept, so a burst of load
from other processes touches every artifact alike; the ratios between
artifacts are what the two harnesses must agree on.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
from typing import Callable, Dict, List, Optional

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.errors import LiteHRNetError

__all__ = ['benchmark_app_command', 'median_latency', 'time_artifacts']

_MEDIAN = re.compile(r'Median:\s*([0-9.]+)\s*(ms|us|s)\b')
#: benchmark_app's latency units, in ms (it prints us under 1 ms).
_UNITS = {'ms': 1.0, 'us': 1e-3, 's': 1e3}


def _benchmark_app() -> str:
    """The ``benchmark_app`` beside this interpreter (a venv's bin), else
    the one on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), 'benchmark_app')
    found = here if os.path.isfile(here) else shutil.which('benchmark_app')
    if found is None:
        raise FileNotFoundError(
            "second harness: OpenVINO's benchmark_app not found; expected "
            'it beside python or on PATH (pip install openvino)'
        )
    return found


def benchmark_app_command(file: str, threads: int, seconds: int) -> List[str]:
    """``benchmark_app`` on the IR ``file``: one stream, one request,
    ``threads`` threads, the inference precision of its metadata, for
    ``seconds`` (whole: benchmark_app takes no fraction)."""
    if int(seconds) != seconds or seconds < 1:
        raise ValueError(
            f'second harness: seconds={seconds!r}; expected a whole number '
            '>= 1 (benchmark_app -t)'
        )
    options = read_metadata(file).get('runtime_options') or {}
    precision = options.get('inference_precision', 'f32')
    return [
        _benchmark_app(),
        '-m', file,
        '-d', 'CPU',
        '-hint', 'none',  # its rule: no -nthreads under a hint
        '-nstreams', '1',
        '-nireq', '1',
        '-nthreads', str(threads),
        '-infer_precision', precision,
        '-t', str(int(seconds)),
    ]  # fmt: skip


def median_latency(output: str) -> float:
    """The median latency that ``benchmark_app`` printed, in ms."""
    found = _MEDIAN.search(output)
    if found is None:
        raise ValueError(
            'second harness: no "Median: ... ms" in benchmark_app\'s '
            'output: ' + output.strip()[-500:]
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


def _last_error(proc: subprocess.CompletedProcess) -> str:
    """The last line benchmark_app printed (its error's own text: on a
    model it cannot read, after the traceback)."""
    lines = (proc.stdout + '\n' + proc.stderr).strip().splitlines()
    return (lines or ['no output'])[-1].strip()[:300]


def time_artifacts(
    files: List[str],
    threads: int,
    rounds: int = 3,
    seconds: int = 5,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, float]:
    """``file -> median over rounds of benchmark_app's median latency``
    (ms), the artifacts interleaved round by round."""
    latencies: Dict[str, List[float]] = {f: [] for f in files}
    for r in range(rounds):
        shift = r % len(files)
        for file in files[shift:] + files[:shift]:
            proc = subprocess.run(
                benchmark_app_command(file, threads, seconds),
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise LiteHRNetError(
                    f'second harness: benchmark_app failed on {file} '
                    f'(status {proc.returncode}): {_last_error(proc)}'
                )
            latencies[file].append(median_latency(proc.stdout + proc.stderr))
        if log:
            log(
                f'round {r + 1}/{rounds}: '
                + ', '.join(
                    f'{os.path.basename(f)} {statistics.median(t):.2f}'
                    for f, t in latencies.items()
                )
                + ' ms'
            )
    return {f: statistics.median(t) for f, t in latencies.items()}
