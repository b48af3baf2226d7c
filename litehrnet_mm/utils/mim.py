"""OpenMMLab's ``mim`` run from Python, as the demos and the tests run it.

``python -m mim train|test HOST CONFIG ...`` with this interpreter, in an
environment where the child imports this very ``litehrnet_mm``; its output
streamed line by line (echoed, kept in a log file, and returned); a failure
raised with the command, the exit status and the log's tail. The metrics
are read back from the json logs mmengine writes, not parsed out of the
text log.
"""

import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

PathLike = Union[str, Path]

# mim and mmengine import pkg_resources, which warns at every start.
QUIET_WARNINGS = 'ignore:pkg_resources is deprecated:UserWarning'


class MimFailed(subprocess.CalledProcessError):
    """A ``mim`` command that exited with an error; ``str()`` ends with the
    tail of its output (the traceback, where there is one)."""

    def __init__(self, returncode, cmd, output, log_file=None) -> None:
        super().__init__(returncode, cmd, output)
        self.log_file = log_file

    def __str__(self) -> str:
        where = f'; its log is {self.log_file}' if self.log_file else ''
        tail = '\n'.join(self.output.splitlines()[-40:])
        return (
            f'`{" ".join(map(str, self.cmd))}` failed (exit '
            f'{self.returncode}){where}:\n{tail}'
        )


def package_root() -> str:
    """The folder this ``litehrnet_mm`` is imported from (a checkout's
    root, or site-packages)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def child_env(
    env: Optional[Dict[str, str]] = None, threads: Optional[int] = None
) -> Dict[str, str]:
    """``env`` (default ``os.environ``) for a child Python that imports the
    same ``litehrnet_mm`` as this process: its folder first on
    ``PYTHONPATH``, pkg_resources' warning silenced, and ``threads``
    compute threads when given (``OMP_NUM_THREADS``)."""
    env = dict(os.environ if env is None else env)
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join([package_root()] + paths)
    warnings = [w for w in env.get('PYTHONWARNINGS', '').split(',') if w]
    if QUIET_WARNINGS not in warnings:
        env['PYTHONWARNINGS'] = ','.join(warnings + [QUIET_WARNINGS])
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    return env


def mim_command(args: Sequence[PathLike]) -> List[str]:
    """``python -m mim ARGS`` with this interpreter; ``train`` gets ``-y``
    so that it never stops at mim's prompt to install the host."""
    cmd = [sys.executable, '-m', 'mim', *map(str, args)]
    if cmd[3:4] == ['train'] and '-y' not in cmd:
        cmd.append('-y')
    return cmd


def start_mim(
    args: Sequence[PathLike],
    cwd: Optional[PathLike] = None,
    env: Optional[Dict[str, str]] = None,
    **popen,
) -> subprocess.Popen:
    """Start ``python -m mim ARGS``; its stdout and stderr together in
    ``.stdout`` (text). ``env`` defaults to :func:`child_env`; ``popen``
    goes to ``subprocess.Popen`` (e.g. ``start_new_session``)."""
    return subprocess.Popen(
        mim_command(args),
        cwd=None if cwd is None else str(cwd),
        env=child_env() if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def run_mim(
    args: Sequence[PathLike],
    cwd: Optional[PathLike] = None,
    env: Optional[Dict[str, str]] = None,
    log_file: Optional[PathLike] = None,
    echo: bool = False,
) -> str:
    """Run ``python -m mim ARGS`` to its end and return its output.

    Args:
        args: mim's arguments, e.g. ``['test', 'mmpose', CONFIG,
            '--checkpoint', FILE]``.
        cwd: Its working folder (default: this process's).
        env: Its environment (default: :func:`child_env`).
        log_file: Also write the output there, as it comes.
        echo: Also print the output as it comes (progress of long runs).

    Raises:
        MimFailed: mim exited with an error.
    """
    proc = start_mim(args, cwd, env)
    lines = []
    log = open(log_file, 'w') if log_file is not None else None
    try:
        for line in proc.stdout:
            lines.append(line)
            if log is not None:
                log.write(line)
                log.flush()
            if echo:
                print(line, end='', flush=True)
    finally:
        proc.stdout.close()
        if log is not None:
            log.close()
    output = ''.join(lines)
    if proc.wait() != 0:
        raise MimFailed(proc.returncode, proc.args, output, log_file)
    return output


def _newest(pattern: str, work_dir: PathLike) -> str:
    found = sorted(glob.glob(pattern), key=osp.getmtime)
    if not found:
        raise FileNotFoundError(
            f'{work_dir}: no json log ({osp.relpath(pattern, work_dir)}); '
            'expected the work_dir of a finished mim run'
        )
    return found[-1]


def read_test_metrics(work_dir: PathLike) -> Dict[str, float]:
    """The metrics of the newest ``mim test`` run in ``work_dir``, as
    mmengine dumped them (``WORK_DIR/TIMESTAMP/TIMESTAMP.json``), e.g.
    ``{'coco/AP': 0.41, ...}`` or ``{'mIoU': 63.2, 'aAcc': ...}``."""
    path = _newest(osp.join(str(work_dir), '*', '*.json'), work_dir)
    with open(path) as f:
        return json.load(f)


def read_scalars(work_dir: PathLike) -> List[Dict[str, float]]:
    """Every line of the newest training run's scalar log in ``work_dir``
    (``WORK_DIR/TIMESTAMP/vis_data/TIMESTAMP.json``): a dict per logged
    train iteration (``loss``, ``lr``, ``iter``, ...) and per validation
    (the metrics, ``step`` = its epoch or iteration)."""
    pattern = osp.join(str(work_dir), '*', 'vis_data', '[0-9]*.json')
    with open(_newest(pattern, work_dir)) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_config(config: PathLike, cfg_options: Sequence[str] = ()):
    """An mmengine ``Config`` of ``config`` with ``KEY=VALUE`` overrides
    read as ``--cfg-options`` reads them."""
    from mmengine.config import Config, DictAction

    cfg = Config.fromfile(str(config))
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--options', nargs='+', action=DictAction)
        parsed = parser.parse_args(['--options', *cfg_options])
        cfg.merge_from_dict(parsed.options)
    return cfg


def save_untrained(
    config: PathLike, path: PathLike, cfg_options: Sequence[str] = ()
) -> None:
    """The model of ``config`` as ``mim train`` initialises it (the config's
    seed, ``init_weights``), saved where ``mim test`` evaluates it and
    ``load_from`` starts training from it: "untrained" and "trained" then
    differ by the training alone. The metainfo of a segmentation config
    goes into ``meta['dataset_meta']`` (mmseg's inferencer reads it)."""
    import torch
    from mmengine.logging import MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    from litehrnet_mm.analysis.models import scope_of

    cfg = load_config(config, cfg_options)
    scope = scope_of(cfg)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpose.registry import MODELS
    # init_weights logs every parameter to the first MMLogger: make that
    # one keep to warnings.
    MMLogger.get_instance('save_untrained', log_level='WARNING')
    init_default_scope(scope)
    set_random_seed(cfg.get('randomness', {}).get('seed') or 0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    meta = dict(epoch=0, iter=0)
    if cfg.get('metainfo'):
        meta['dataset_meta'] = dict(cfg.metainfo)
    os.makedirs(osp.dirname(osp.abspath(str(path))), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
