"""Segmentation end to end: ``mim train mmseg`` of a user's config (the
session's one seg run), ``mim test mmseg`` of its checkpoint, and
``MMSegInferencer`` drawing the mask; a pose checkpoint refused by ``mim
test``. (Resume: tests/test_resume.py; the
published release: test_user_config_release.py.)"""

import cv2
import numpy as np
import pytest
import torch

from litehrnet_mm.utils.mim import read_scalars, read_test_metrics, run_mim

pytest.importorskip('mmseg')
pytest.importorskip('mim')

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('seg_run')]


def test_mim_train_writes_checkpoints(seg_run):
    work, log = seg_run['work'], seg_run['log']
    assert (work / 'iter_1.pth').is_file()
    assert (work / 'iter_2.pth').is_file()
    assert (
        (work / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    )
    assert 'Iter(train) [2/2]' in log
    # One process: SyncBN became BN, as mmengine announces.
    assert 'SyncBatchNorm (SyncBN) layers in the model will be' in log
    ckpt = torch.load(seg_run['checkpoint'], map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert ckpt['meta']['dataset_meta']['classes'][1] == 'disc'
    assert 'backbone.stem.conv1.conv.weight' in ckpt['state_dict']


def test_mim_test_reports_the_validated_miou(seg_run):
    """``mim test`` of the last checkpoint: mIoU and aAcc in its json
    log, those of the training run's validation of the same weights."""
    test_dir = seg_run['root'] / 'test'
    log = run_mim(
        ['test', 'mmseg', seg_run['config']]
        + ['--checkpoint', seg_run['checkpoint']]
        + ['--gpus', '0', '--work-dir', test_dir],
        cwd=seg_run['root'],
    )
    assert 'Iter(test) [1/1]' in log
    metrics = read_test_metrics(test_dir)
    assert 0 <= metrics['mIoU'] <= 100
    assert 0 <= metrics['aAcc'] <= 100
    (val,) = [line for line in read_scalars(seg_run['work']) if 'mIoU' in line]
    assert abs(metrics['mIoU'] - val['mIoU']) <= 1e-2


def test_inferencer_draws_the_mask(seg_run, tmp_path):
    from mmseg.apis import MMSegInferencer

    image = seg_run['data'] / 'img_dir' / 'val' / '00000.png'
    inferencer = MMSegInferencer(
        model=str(seg_run['config']),
        weights=str(seg_run['checkpoint']),
        device='cpu',
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


def test_mim_test_refuses_a_pose_checkpoint(tmp_path):
    """A pose model's checkpoint given to ``mim test mmseg``: one error
    naming the file and the pose head, and no score (it scored the seg
    config's untrained head after a warning)."""
    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset
    from litehrnet_mm.utils.mim import MimFailed, save_untrained
    from tests.conftest import POSE_DEMO, SEG_DEMO

    pytest.importorskip('mmpose')
    data = tmp_path / 'data'
    generate_seg_dataset(str(data), 1, 1, size=(64, 64))
    pose = tmp_path / 'pose.pth'
    save_untrained(POSE_DEMO, pose)
    loader = ['num_workers=0', 'persistent_workers=False', 'batch_size=1']
    options = [f'dataset.data_root={data}'] + loader
    with pytest.raises(MimFailed) as info:
        run_mim(
            ['test', 'mmseg', SEG_DEMO, '--checkpoint', pose]
            + ['--gpus', '0', '--work-dir', tmp_path / 'test']
            + ['--cfg-options']
            + [
                f'{n}_dataloader.{o}'
                for n in ('train', 'test')
                for o in options
            ],
            cwd=tmp_path,
        )
    assert (
        f'CheckpointError: checkpoint {pose} holds a pose model (head.* '
        'weights' in info.value.output
    )
    assert 'Iter(test)' not in info.value.output
