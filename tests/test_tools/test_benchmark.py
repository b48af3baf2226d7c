"""tools/analysis/benchmark.py end to end on a tiny segmentation input:
every exported path of the grid checked against eager, timed in its
worker, tabulated with its ratio. ``--no-torch``: the workers then fork
from a server that imports no host (the PyTorch paths' workers, eager and
deployed, are tested in tests/test_analysis/test_worker.py)."""

import subprocess
import sys

import pytest

from litehrnet_mm.utils.mim import child_env
from tests.conftest import REPO

pytest.importorskip('mmseg')
pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

pytestmark = pytest.mark.slow


def _benchmark(args):
    """The tool's stdout (markdown), run as a user runs it."""
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'analysis' / 'benchmark.py')]
        + args,
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_benchmark_tabulates_checked_and_timed_paths(tmp_path):
    args = ['--task', 'seg', '--shape', '64', '128', '--rounds', '1']
    args += ['--block-seconds', '0.01', '--pause', '0', '--threads', '1']
    args += ['--no-peers', '--no-torch', '--keep', str(tmp_path / 'kept')]
    out = _benchmark(args)
    assert out.startswith('seg, 64x128, ')
    assert '`python tools/analysis/benchmark.py --task seg' in out
    rows = [
        line.strip('| ').split(' | ')
        for line in out.splitlines()
        if line.startswith('| FCN Lite-HRNet-18')
    ]
    assert [row[2:4] for row in rows] == [
        ['onnxruntime', 'fp32'],
        ['openvino', 'fp32'],
    ]
    for cells in rows:
        assert float(cells[4]) <= 1e-4  # checked against eager
        assert float(cells[5]) > 0 and float(cells[6]) > 0  # timed, ratio
    assert '- batch 1, best path: FCN Lite-HRNet-18' in out
    # The artifacts stay for a second harness.
    kept = sorted(p.name for p in (tmp_path / 'kept').iterdir())
    assert 'seg-18-b1-openvino-fp32.xml' in kept
    assert 'seg-18-b1-onnxruntime-fp32.onnx' in kept


def test_train_at_a_size_the_port_cannot_take_times_ours_and_says_so():
    args = ['--train', '--train-batch', '2', '--shape', '64', '48']
    args += ['--rounds', '1', '--block-seconds', '0.01', '--pause', '0']
    args += ['--threads', '1']
    out = _benchmark(args)
    rows = [line for line in out.splitlines() if line.startswith('| Lite')]
    assert rows[0].startswith('| Lite-HRNet-18 (litehrnet_mm) | ')
    assert rows[0].endswith(' | 1.00 |')
    assert rows[1] == (
        '| Lite-HRNet-18 (mmpose port) | does not run at 64x48 '
        '(RuntimeError) | |'
    )
    assert ', 1 thread; torch ' in out
