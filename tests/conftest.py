import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# ../shared/data: real COCO, MPII and Cityscapes samples (never packaged).
SHARED_DATA = REPO.parent / 'shared' / 'data'

PRESETS = ('18', '30', 'naive-18', 'wider-naive-18')


def randomize_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter and BN statistic a non-trivial random value, so
    that comparisons exercise every weight (the default init draws convs
    from N(0, 0.001), which makes most outputs nearly zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean') or name.endswith('bias'):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=gen))
            elif tensor.dim() == 1:  # norm weights
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(
                    torch.randn(tensor.shape, generator=gen) / fan_in**0.5
                )
    return model


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
