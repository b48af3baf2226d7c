"""Pose end to end: ``mim train`` of a user's config (the session's one
pose run), ``mim test`` of its checkpoint in the deploy form, and
MMPoseInferencer with that checkpoint, in this process and in a fresh
one. (Resume: tests/test_resume.py; the published release:
test_user_config_release.py.)"""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from litehrnet_mm.utils.mim import (
    child_env,
    read_scalars,
    read_test_metrics,
    run_mim,
)
from tests.conftest import REPO, SHARED_DATA

pytest.importorskip('mmpose')
pytest.importorskip('mim')

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('pose_run')]

COCO_CONFIG = (
    REPO / 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
)


def _val_metrics(work: Path) -> dict:
    """The COCO metrics of the training run's validation at its end."""
    (val,) = [line for line in read_scalars(work) if 'coco/AP' in line]
    return {k: v for k, v in val.items() if k.startswith('coco/')}


def test_mim_train_writes_checkpoints_and_validates(pose_run):
    assert 'Epoch(train) [1]' in pose_run['log']
    assert 0.0 <= _val_metrics(pose_run['work'])['coco/AP'] <= 1.0
    ckpt = torch.load(pose_run['checkpoint'], map_location='cpu')
    assert ckpt['meta']['epoch'] == 1
    assert any(k.startswith('backbone.stage2') for k in ckpt['state_dict'])
    # The config has no custom_imports: its type name imported us.
    assert 'custom_imports' not in pose_run['config'].read_text()


def test_mim_test_of_the_deploy_form_gives_the_eager_metrics(pose_run):
    """``mim test --cfg-options model.backbone.deploy=True``: the
    checkpoint in the deploy form, the metrics the eager model had in the
    training run's validation (the same weights, data and evaluator)."""
    test_dir = pose_run['root'] / 'test_deploy'
    log = run_mim(
        ['test', 'mmpose', pose_run['config']]
        + ['--checkpoint', pose_run['checkpoint']]
        + ['--gpus', '0', '--work-dir', test_dir]
        + ['--cfg-options', 'model.backbone.deploy=True'],
        cwd=pose_run['root'],
    )
    assert 'switched to the deploy form' in log
    assert 'switched to the deploy form' not in pose_run['log']
    eager = _val_metrics(pose_run['work'])
    deployed = read_test_metrics(test_dir)
    assert eager and {k for k in deployed if k.startswith('coco/')} == set(
        eager
    )
    for key, value in eager.items():
        assert abs(deployed[key] - value) <= 1e-3, key


def _infer(config, checkpoint, photo, out_dir):
    from mmpose.apis import MMPoseInferencer

    inferencer = MMPoseInferencer(
        pose2d=str(config),
        pose2d_weights=str(checkpoint),
        det_model='whole_image',
        device='cpu',
    )
    results = list(
        inferencer(str(photo), vis_out_dir=str(out_dir), kpt_thr=0.0)
    )
    (prediction,) = results[0]['predictions'][0]
    assert len(prediction['keypoint_scores']) == 17
    (picture,) = Path(out_dir).iterdir()
    return np.asarray(prediction['keypoints']), cv2.imread(str(picture))


def _photo(tmp_path) -> Path:
    photo = SHARED_DATA / 'coco-sample' / '000000000785.jpg'
    if not photo.exists():  # a fresh clone without the shared samples
        rng = np.random.default_rng(0)
        photo = tmp_path / 'photo.png'
        cv2.imwrite(str(photo), rng.integers(0, 255, (240, 180, 3), 'uint8'))
    return photo


def test_inferencer_reads_the_mim_checkpoint(pose_run, tmp_path):
    photo = _photo(tmp_path)
    keypoints, picture = _infer(
        pose_run['config'], pose_run['checkpoint'], photo, tmp_path / 'vis'
    )
    assert keypoints.shape == (17, 2)
    assert picture.shape == cv2.imread(str(photo)).shape


def test_inferencer_in_a_fresh_process(pose_run, tmp_path):
    """The inferencer loads the checkpoint before it builds the model; the
    config's custom_imports makes litehrnet_mm's checkpoint allowlist active
    by then, with nothing imported by hand."""
    code = f"""
from mmpose.apis import MMPoseInferencer
inferencer = MMPoseInferencer(
    pose2d={str(pose_run['with_imports'])!r},
    pose2d_weights={str(pose_run['checkpoint'])!r},
    det_model='whole_image', device='cpu')
result = next(inferencer({str(_photo(tmp_path))!r},
                         vis_out_dir={str(tmp_path / 'vis')!r}))
print('keypoints', len(result['predictions'][0][0]['keypoints']))
"""
    proc = subprocess.run(
        [sys.executable, '-c', code],
        cwd=pose_run['root'],
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'keypoints 17' in proc.stdout
    assert len(list((tmp_path / 'vis').iterdir())) == 1


@pytest.mark.xdist_group('inferencer')
def test_inferencer_draws_the_skeleton(tmp_path):
    """With weights that put keypoints across the picture (a model trained
    for an epoch piles them in a corner), every keypoint inside the
    picture is drawn."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import save_checkpoint
    from mmpose.registry import MODELS

    from litehrnet_mm.analysis.weights import random_weights_

    cfg = Config.fromfile(str(COCO_CONFIG))
    init_default_scope('mmpose')
    model = random_weights_(MODELS.build(cfg.model), seed=0)
    checkpoint = tmp_path / 'random.pth'
    save_checkpoint(dict(state_dict=model.state_dict()), str(checkpoint))
    photo = _photo(tmp_path)
    keypoints, picture = _infer(
        COCO_CONFIG, checkpoint, photo, tmp_path / 'vis'
    )
    original = cv2.imread(str(photo))
    h, w = original.shape[:2]
    inside = [
        (int(x), int(y))
        for x, y in keypoints
        if 3 <= x < w - 3 and 3 <= y < h - 3
    ]
    assert inside, 'no keypoint inside the picture to check'
    diff = np.abs(picture.astype(int) - original.astype(int)).max(-1)
    for x, y in inside:
        # A keypoint is a filled disc of radius 3 (JPEG noise stays lower).
        assert diff[y - 1 : y + 2, x - 1 : x + 2].max() > 60, (x, y)
