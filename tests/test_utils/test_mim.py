"""utils/mim.py: the child's environment, the command, a failure's
message, and the metrics read back from mmengine's json logs."""

import json
import os
import sys
import time

import pytest

from litehrnet_mm.utils import mim
from tests.conftest import REPO


def test_child_env_imports_this_checkout_first_and_keeps_the_rest():
    env = mim.child_env(
        {'PYTHONPATH': '/elsewhere', 'PYTHONWARNINGS': 'error', 'X': '1'},
        threads=1,
    )
    assert env['PYTHONPATH'].split(os.pathsep) == [str(REPO), '/elsewhere']
    assert env['PYTHONWARNINGS'] == f'error,{mim.QUIET_WARNINGS}'
    assert env['OMP_NUM_THREADS'] == '1' and env['X'] == '1'
    # Applied twice, nothing doubles.
    again = mim.child_env(env)
    assert again['PYTHONWARNINGS'] == env['PYTHONWARNINGS']


def test_command_runs_this_interpreter_and_never_prompts():
    train = mim.mim_command(['train', 'mmpose', REPO / 'c.py'])
    assert train == [
        sys.executable,
        '-m',
        'mim',
        'train',
        'mmpose',
        str(REPO / 'c.py'),
        '-y',
    ]
    assert mim.mim_command(['train', 'x', '-y']).count('-y') == 1
    assert '-y' not in mim.mim_command(['test', 'mmpose', 'c.py'])


@pytest.mark.slow
def test_a_failure_names_the_command_and_shows_the_log_tail(tmp_path):
    pytest.importorskip('mim')
    log = tmp_path / 'mim.log'
    with pytest.raises(mim.MimFailed) as failed:
        mim.run_mim(['no-such-command'], cwd=tmp_path, log_file=log)
    message = str(failed.value)
    assert '-m mim no-such-command` failed (exit 2)' in message
    assert f'its log is {log}' in message
    assert 'No such command' in message
    assert 'No such command' in log.read_text()
    assert failed.value.returncode == 2


def _run_dir(work, stamp, age):
    run = work / stamp
    (run / 'vis_data').mkdir(parents=True)
    then = time.time() - age
    return run, then


def test_metrics_are_read_from_the_newest_json_logs(tmp_path):
    old, then = _run_dir(tmp_path, '20260101_000000', age=60)
    (old / '20260101_000000.json').write_text(json.dumps({'mIoU': 1.0}))
    os.utime(old / '20260101_000000.json', (then, then))
    new, _ = _run_dir(tmp_path, '20260101_000100', age=0)
    (new / '20260101_000100.json').write_text(
        json.dumps({'coco/AP': 0.5, 'coco/AR': 0.6})
    )
    lines = [{'loss': 0.1, 'iter': 1}, {'coco/AP': 0.5, 'step': 1}]
    (new / 'vis_data' / '20260101_000100.json').write_text(
        '\n'.join(map(json.dumps, lines)) + '\n'
    )
    (new / 'vis_data' / 'scalars.json').write_text('not read\n')
    assert mim.read_test_metrics(tmp_path) == {'coco/AP': 0.5, 'coco/AR': 0.6}
    assert mim.read_scalars(tmp_path) == lines


def test_a_work_dir_without_logs_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'{tmp_path}: no json log'):
        mim.read_test_metrics(tmp_path)
    with pytest.raises(FileNotFoundError, match='finished mim run'):
        mim.read_scalars(tmp_path)


def test_a_failure_shows_the_last_forty_lines_of_its_output():
    output = ''.join(f'line {i}\n' for i in range(1, 51))
    failed = mim.MimFailed(1, ['python', '-m', 'mim', 'test'], output, 'x.log')
    text = str(failed)
    assert text.startswith(
        '`python -m mim test` failed (exit 1); its log is x.log:\nline 11\n'
    )
    assert text.endswith('line 49\nline 50') and 'line 10\n' not in text
