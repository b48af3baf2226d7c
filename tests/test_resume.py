"""A ``mim train`` killed with SIGKILL after a checkpoint resumes with
``--resume`` from that checkpoint and reaches the same final iteration."""

import os
import re
import signal
import time
from pathlib import Path

import pytest
import torch

from litehrnet_mm.utils.mim import start_mim
from tests.conftest import POSE_DEMO

pytest.importorskip('mmpose')
pytest.importorskip('mim')

pytestmark = pytest.mark.slow
MAX_EPOCHS = 3


@pytest.fixture
def tiny_config(tmp_path):
    from litehrnet_mm.data.synthetic_pose import generate_pose_dataset

    data = tmp_path / 'data'
    generate_pose_dataset(
        str(data), num_train=8, num_val=2, image_size=(96, 96)
    )
    config = tmp_path / 'tiny.py'
    config.write_text(f"""_base_ = [{str(POSE_DEMO)!r}]
data_root = {str(data) + '/'!r}
train_cfg = dict(max_epochs={MAX_EPOCHS}, val_interval={MAX_EPOCHS + 1})
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=-1))
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
""")
    return config


def mim_train(config, work, *extra, **popen):
    return start_mim(
        ['train', 'mmpose', config, '--gpus', '0', '--work-dir', work]
        + list(extra),
        cwd=config.parent,
        **popen,
    )


def saved_checkpoint(work):
    """The checkpoint ``last_checkpoint`` names, once the file names one
    that exists; else None."""
    try:
        pointed = (work / 'last_checkpoint').read_text().strip()
    except FileNotFoundError:
        return None
    return Path(pointed) if pointed and Path(pointed).is_file() else None


def test_killed_run_resumes_and_loses_nothing(tiny_config):
    work = tiny_config.parent / 'work'
    # A session of its own, so SIGKILL reaches mim and the train.py it runs.
    run = mim_train(tiny_config, work, start_new_session=True)
    first = work / 'epoch_1.pth'
    deadline = time.time() + 300
    # mmengine creates last_checkpoint before it writes the path into it:
    # wait for a path (the kill came between the two once).
    while not saved_checkpoint(work):
        assert run.poll() is None, run.stdout.read()[-3000:]
        assert time.time() < deadline, 'no checkpoint within 300 s'
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL
    saved = sorted(work.glob('epoch_*.pth'))
    assert first in saved and not (work / f'epoch_{MAX_EPOCHS}.pth').exists()
    pointed = saved_checkpoint(work)
    resumed_from = torch.load(pointed, map_location='cpu')['meta']

    resumed = mim_train(tiny_config, work, '--resume')
    log, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, log[-3000:]
    assert re.search(
        rf'resumed epoch: {resumed_from["epoch"]}, iter: '
        rf'{resumed_from["iter"]}',
        log,
        re.I,
    ), log[-3000:]
    for done in range(1, resumed_from['epoch'] + 1):  # nothing trained twice
        assert not re.search(rf'Epoch\(train\)\s+\[{done}\]', log)
    assert re.search(rf'Epoch\(train\)\s+\[{MAX_EPOCHS}\]', log)
    final = torch.load(work / f'epoch_{MAX_EPOCHS}.pth', map_location='cpu')
    iters_per_epoch = resumed_from['iter'] // resumed_from['epoch']
    assert final['meta']['epoch'] == MAX_EPOCHS
    assert final['meta']['iter'] == MAX_EPOCHS * iters_per_epoch
    # Adam's step counts went on from the checkpoint: no step lost or redone.
    before = torch.load(pointed, map_location='cpu')['optimizer']['state']
    after = final['optimizer']['state']
    steps = iters_per_epoch * (MAX_EPOCHS - resumed_from['epoch'])
    assert [float(s['step']) for s in after.values()] == [
        float(s['step']) + steps for s in before.values()
    ]
