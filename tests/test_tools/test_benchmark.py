"""tools/analysis/benchmark.py end to end on a small segmentation input:
every path checked against eager, timed, tabulated with its ratio."""

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip('mmseg')
pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')


def test_benchmark_tabulates_checked_and_timed_paths(subprocess_env):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / 'tools' / 'analysis' / 'benchmark.py'),
            '--task',
            'seg',
            '--shape',
            '64',
            '128',
            '--rounds',
            '1',
            '--block-seconds',
            '0.01',
            '--pause',
            '0',
            '--threads',
            '1',
        ],
        cwd=REPO,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.startswith('seg, 64x128, fp32, ')
    assert '`python tools/analysis/benchmark.py --task seg' in out
    rows = [line for line in out.splitlines() if line.startswith('| ours')]
    rows = [row.strip('| ').split(' | ') for row in rows]
    paths = [row[1] for row in rows]
    assert paths == ['eager', 'PyTorch, deployed', 'onnxruntime', 'openvino']
    for cells in rows[1:]:
        assert float(cells[2]) <= 1e-4  # checked against eager
        assert float(cells[3]) > 0 and float(cells[4]) > 0  # timed, ratio
    assert '- batch 1, best path: ours' in out
