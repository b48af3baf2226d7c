"""``mim train mmseg`` / ``mim test mmseg`` / ``--resume`` run a Lite-HRNet
segmentation config on this CPU machine, and ``MMSegInferencer`` draws the
mask of a trained checkpoint. A few iterations on tiny generated data."""

import json

import cv2
import numpy as np
import pytest
import torch

from litehrnet_mm.data.synthetic_seg import generate_seg_dataset

from ..conftest import REPO, run_mim

pytest.importorskip('mmseg')
pytest.importorskip('mim')

CONFIG = (
    REPO
    / 'configs'
    / 'demo'
    / 'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py'
)


def _options(data, max_iters):
    options = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    options += [
        'train_dataloader.batch_size=2',
        'val_dataloader.batch_size=3',
        'test_dataloader.batch_size=3',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
    ]
    return ['--cfg-options'] + options


@pytest.fixture(scope='module')
def env():
    import os

    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO)]
        + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    )
    return env


@pytest.fixture(scope='module')
def trained(tmp_path_factory, env):
    """Two iterations of ``mim train`` (a checkpoint after each)."""
    root = tmp_path_factory.mktemp('mim_seg')
    data = root / 'data'
    generate_seg_dataset(str(data), 4, 3, size=(64, 64), seed=1)
    work = root / 'work'
    log = run_mim(
        ['train', 'mmseg', CONFIG, '--work-dir', work]
        + _options(data, max_iters=2),
        env,
    )
    return root, data, work, log


def test_mim_train_writes_checkpoints(trained):
    _, _, work, log = trained
    assert (work / 'iter_1.pth').is_file()
    assert (work / 'iter_2.pth').is_file()
    assert (
        (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    )
    assert 'Iter(train) [2/2]' in log
    # One process: SyncBN became BN, as mmengine announces.
    assert 'SyncBatchNorm (SyncBN) layers in the model will be' in log
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert ckpt['meta']['dataset_meta']['classes'][1] == 'disc'
    assert 'backbone.stem.conv1.conv.weight' in ckpt['state_dict']


def test_mim_test_reports_miou(trained, env):
    root, data, work, _ = trained
    test_dir = root / 'test'
    log = run_mim(
        ['test', 'mmseg', CONFIG, '--checkpoint', work / 'iter_2.pth']
        + ['--work-dir', test_dir]
        + _options(data, max_iters=2),
        env,
    )
    assert 'Iter(test) [1/1]' in log
    (json_log,) = test_dir.glob('*/*.json')
    metrics = json.loads(json_log.read_text().strip().splitlines()[-1])
    assert 0 <= metrics['mIoU'] <= 100
    assert 0 <= metrics['aAcc'] <= 100


def test_mim_train_resumes(trained, env):
    """``--resume`` picks up iter_2 (weights, optimizer, iteration) and
    runs only the third iteration."""
    _, data, work, _ = trained
    before = torch.load(work / 'iter_2.pth', map_location='cpu')
    log = run_mim(
        ['train', 'mmseg', CONFIG, '--work-dir', work, '--resume']
        + _options(data, max_iters=3),
        env,
    )
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log
    assert 'Iter(train) [1/3]' not in log
    after = torch.load(work / 'iter_3.pth', map_location='cpu')
    assert after['meta']['iter'] == 3
    assert before['optimizer']['state'], 'optimizer state was saved'
    name = 'decode_head.conv_seg.weight'
    assert not torch.equal(
        after['state_dict'][name], before['state_dict'][name]
    )


def test_inferencer_draws_the_mask(trained, tmp_path):
    from mmseg.apis import MMSegInferencer

    _, data, work, _ = trained
    image = data / 'img_dir' / 'val' / '00000.png'
    inferencer = MMSegInferencer(
        model=str(CONFIG), weights=str(work / 'iter_2.pth'), device='cpu'
    )
    result = inferencer(str(image), out_dir=str(tmp_path), show=False)
    assert result['predictions'].shape == (64, 64)
    (picture,) = (tmp_path / 'vis').glob('*.png')
    drawn = cv2.imread(str(picture))
    original = cv2.imread(str(image))
    assert drawn.shape == original.shape
    # The mask is blended over the image: the picture is neither the
    # image nor blank.
    assert np.abs(drawn.astype(int) - original.astype(int)).mean() > 1
