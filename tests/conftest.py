import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared/data: real COCO, MPII and Cityscapes samples (never packaged).
SHARED_DATA = REPO.parent / 'shared' / 'data'

PRESETS = ('18', '30', 'naive-18', 'wider-naive-18')


@pytest.fixture
def subprocess_env():
    """Environment for a child Python that imports this checkout."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO)]
        + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    )
    return env


@pytest.fixture
def python():
    return sys.executable


def run_mim(args, env, cwd=REPO):
    """Run ``mim`` with this interpreter and return its log; a failure shows
    the log's tail. ``train`` never stops at mim's install prompt."""
    cmd = [sys.executable, '-m', 'mim', *map(str, args)]
    if args[0] == 'train':
        cmd.append('-y')
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout
