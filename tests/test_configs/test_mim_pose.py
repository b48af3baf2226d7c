"""``mim train``, ``mim test`` and ``--resume`` on a tiny generated dataset,
then MMPoseInferencer with the checkpoint that ``mim train`` wrote."""

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ..conftest import REPO, SHARED_DATA, run_mim

pytest.importorskip('mmpose')
MIM = Path(sys.executable).with_name('mim')
if not MIM.exists():
    pytest.skip('openmim is not installed', allow_module_level=True)

from mmengine.config import Config  # noqa: E402

from litehrnet_mm.data.synthetic_pose import generate_pose_dataset  # noqa

DEMO_CONFIG = REPO / 'configs/demo/td-hm_litehrnet-18_synthetic-128x96.py'
COCO_CONFIG = (
    REPO / 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
)


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """Two epochs of ``mim train`` on 6 generated images."""
    import os

    root = tmp_path_factory.mktemp('mim_pose')
    generate_pose_dataset(
        str(root / 'data'), num_train=6, num_val=3, image_size=(128, 128)
    )
    config = root / 'tiny.py'
    config.write_text(
        f"""_base_ = [{str(DEMO_CONFIG)!r}]
data_root = {str(root / 'data') + '/'!r}
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=3))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
"""
    )
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)]
    )
    work = root / 'work'
    log = run_mim(
        [
            'train',
            'mmpose',
            str(config),
            '--gpus',
            '0',
            '--work-dir',
            str(work),
        ],
        env,
        root,
    )
    return dict(root=root, config=config, work=work, env=env, log=log)


def _epoch_checkpoint(work: Path, epoch: int) -> dict:
    return torch.load(str(work / f'epoch_{epoch}.pth'), map_location='cpu')


def test_mim_train_writes_checkpoints_and_validates(tiny_run):
    log = tiny_run['log']
    assert 'Epoch(train) [2]' in log
    assert re.search(r'Epoch\(val\) \[2\].*coco/AP: [0-9.]+', log)
    ckpt = _epoch_checkpoint(tiny_run['work'], 2)
    assert ckpt['meta']['epoch'] == 2
    assert any(k.startswith('backbone.stage2') for k in ckpt['state_dict'])


def mim_test(tiny_run, name, *options):
    """``mim test`` of the tiny run's last checkpoint: the log and the
    COCO metrics it printed."""
    log = run_mim(
        [
            'test',
            'mmpose',
            str(tiny_run['config']),
            '--checkpoint',
            str(tiny_run['work'] / 'epoch_2.pth'),
            '--gpus',
            '0',
            '--work-dir',
            str(tiny_run['root'] / name),
            *options,
        ],
        tiny_run['env'],
        tiny_run['root'],
    )
    found = re.findall(r'(coco/[A-Za-z.0-9()]+): ([0-9.]+)', log)
    return log, {k: float(v) for k, v in found}


def test_mim_test_evaluates_the_checkpoint(tiny_run):
    _, metrics = mim_test(tiny_run, 'test')
    assert 0.0 <= metrics['coco/AP'] <= 1.0


def test_mim_test_runs_the_deploy_form_from_the_command_line(tiny_run):
    """``--cfg-options model.backbone.deploy=True``: the same checkpoint,
    the deploy form, the same metrics."""
    eager_log, eager = mim_test(tiny_run, 'test_eager')
    deploy_log, deployed = mim_test(
        tiny_run, 'test_deploy', '--cfg-options', 'model.backbone.deploy=True'
    )
    assert 'switched to the deploy form' in deploy_log
    assert 'switched to the deploy form' not in eager_log
    assert eager and deployed.keys() == eager.keys()
    for key, value in eager.items():
        assert abs(deployed[key] - value) <= 1e-3, key


def test_mim_train_resume_continues_from_the_last_epoch(tiny_run):
    work = tiny_run['work']
    iters_per_epoch = _epoch_checkpoint(work, 1)['meta']['iter']
    before = _epoch_checkpoint(work, 2)
    log = run_mim(
        [
            'train',
            'mmpose',
            str(tiny_run['config']),
            '--gpus',
            '0',
            '--work-dir',
            str(work),
            '--resume',
            '--cfg-options',
            'train_cfg.max_epochs=3',
        ],
        tiny_run['env'],
        tiny_run['root'],
    )
    assert 'resumed epoch: 2' in log.replace('Resumed', 'resumed')
    assert 'Epoch(train) [3]' in log
    assert 'Epoch(train) [1]' not in log and 'Epoch(train) [2]' not in log
    after = _epoch_checkpoint(work, 3)
    assert after['meta']['epoch'] == 3
    assert after['meta']['iter'] == 3 * iters_per_epoch
    # The optimizer went on from its saved state (Adam's step counts).
    steps_before = [
        float(s['step']) for s in before['optimizer']['state'].values()
    ]
    steps_after = [
        float(s['step']) for s in after['optimizer']['state'].values()
    ]
    assert steps_after == [s + iters_per_epoch for s in steps_before]


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


def _photo(tiny_run) -> Path:
    photo = SHARED_DATA / 'coco-sample' / '000000000785.jpg'
    if not photo.exists():  # a fresh clone without the shared samples
        photo = tiny_run['root'] / 'data/images/val/val_000001.png'
    return photo


def test_inferencer_reads_the_mim_checkpoint(tiny_run, tmp_path):
    photo = _photo(tiny_run)
    keypoints, picture = _infer(
        tiny_run['config'], tiny_run['work'] / 'epoch_2.pth', photo, tmp_path
    )
    assert keypoints.shape == (17, 2)
    assert picture.shape == cv2.imread(str(photo)).shape


def test_inferencer_in_a_fresh_process(tiny_run, tmp_path):
    """The inferencer loads the checkpoint before it builds the model; the
    config's custom_imports makes litehrnet_mm's checkpoint allowlist active
    by then, with nothing imported by hand."""
    code = f"""
import sys
from mmpose.apis import MMPoseInferencer
inferencer = MMPoseInferencer(
    pose2d={str(tiny_run['config'])!r},
    pose2d_weights={str(tiny_run['work'] / 'epoch_2.pth')!r},
    det_model='whole_image', device='cpu')
result = next(inferencer({str(_photo(tiny_run))!r},
                         vis_out_dir={str(tmp_path)!r}))
print('keypoints', len(result['predictions'][0][0]['keypoints']))
"""
    proc = subprocess.run(
        [sys.executable, '-c', code],
        env=tiny_run['env'],
        cwd=tiny_run['root'],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'keypoints 17' in proc.stdout
    assert len(list(tmp_path.iterdir())) == 1


def test_inferencer_draws_the_skeleton(tiny_run, tmp_path):
    """With weights that put keypoints across the picture (a model trained
    for two epochs piles them in a corner), every keypoint inside the
    picture is drawn."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import save_checkpoint
    from mmpose.registry import MODELS

    from litehrnet_mm.analysis.weights import random_weights_

    cfg = Config.fromfile(str(COCO_CONFIG))
    init_default_scope('mmpose')
    model = random_weights_(MODELS.build(cfg.model), seed=0)
    checkpoint = tmp_path / 'random.pth'
    save_checkpoint(dict(state_dict=model.state_dict()), str(checkpoint))
    photo = _photo(tiny_run)
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
