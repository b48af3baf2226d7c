"""``mim train --resume`` of the session's pose run (a user's config, one
epoch, a checkpoint after it) goes on from its last checkpoint to a later
epoch: nothing trained twice, no optimizer step lost or redone.

A run killed after a checkpoint leaves the same files as this one that
ended there (mmengine writes the checkpoint, then ``last_checkpoint``):
what ``--resume`` reads is the same. Killing a run first cost a third
interpreter that imports torch and mmpose."""

import re
import shutil

import pytest
import torch

from litehrnet_mm.utils.mim import run_mim

pytest.importorskip('mmpose')
pytest.importorskip('mim')

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('pose_run')]
MAX_EPOCHS = 2


def test_resumed_run_goes_on_from_the_last_checkpoint(pose_run, tmp_path):
    # A copy of the run's work_dir, its last_checkpoint naming the copy:
    # the session's run stays as its other tests read it.
    work = tmp_path / 'work'
    shutil.copytree(pose_run['work'], work)
    pointed = work / pose_run['checkpoint'].name
    (work / 'last_checkpoint').write_text(str(pointed))
    # Read now: the config keeps one checkpoint, the run deletes this one.
    saved = torch.load(pointed, map_location='cpu')
    resumed_from = saved['meta']
    assert resumed_from['epoch'] == 1

    log = run_mim(
        ['train', 'mmpose', pose_run['config'], '--gpus', '0']
        + ['--work-dir', work, '--resume']
        + ['--cfg-options', f'train_cfg.max_epochs={MAX_EPOCHS}'],
        cwd=tmp_path,
    )
    assert re.search(
        rf'resumed epoch: {resumed_from["epoch"]}, iter: '
        rf'{resumed_from["iter"]}',
        log,
        re.I,
    ), log[-3000:]
    assert not re.search(r'Epoch\(train\)\s+\[1\]', log)  # not redone
    assert re.search(rf'Epoch\(train\)\s+\[{MAX_EPOCHS}\]', log)
    final = torch.load(work / f'epoch_{MAX_EPOCHS}.pth', map_location='cpu')
    iters_per_epoch = resumed_from['iter'] // resumed_from['epoch']
    assert final['meta']['epoch'] == MAX_EPOCHS
    assert final['meta']['iter'] == MAX_EPOCHS * iters_per_epoch
    # Adam's step counts went on from the checkpoint: no step lost or redone.
    before = saved['optimizer']['state']
    after = final['optimizer']['state']
    steps = iters_per_epoch * (MAX_EPOCHS - resumed_from['epoch'])
    assert [float(s['step']) for s in after.values()] == [
        float(s['step']) + steps for s in before.values()
    ]
