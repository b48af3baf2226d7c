"""A user's own config, without ``custom_imports``: ``mim train`` (the
session's pose and seg runs), then its release (publish_checkpoint, what
``tools/misc/publish_model.py`` runs), then ``MMPoseInferencer`` /
``MMSegInferencer`` in a fresh process. The
inferencers load the checkpoint before the config's
``litehrnet_mm.LiteHRNet`` imports the package; the published file needs
nothing of it."""

import subprocess
import sys
import textwrap

import pytest

from litehrnet_mm.utils.mim import child_env

pytest.importorskip('mim')

pytestmark = pytest.mark.slow


def publish(checkpoint, out):
    """What ``tools/misc/publish_model.py CHECKPOINT OUT`` does and prints
    last (test_publish.py runs the command itself)."""
    from litehrnet_mm.publish import publish_checkpoint

    return publish_checkpoint(str(checkpoint), str(out))


# Runs in a fresh process: first whether the checkpoint mim train wrote
# loads there (it does not: that is why a release is published), then what
# a user runs with the published one.
FRESH = """
import sys
import torch
try:
    torch.load({raw!r})
    print('RESULT raw checkpoint loads')
except Exception as e:
    print('RESULT raw checkpoint refused', type(e).__name__)
assert 'litehrnet_mm' not in sys.modules
{body}
assert 'litehrnet_mm' in sys.modules  # imported by the model's type name
"""


def run_fresh(body, raw, env, cwd):
    code = FRESH.format(body=textwrap.dedent(body), raw=str(raw))
    proc = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # The hosts log to stdout too.
    return [
        line[len('RESULT ') :]
        for line in proc.stdout.splitlines()
        if line.startswith('RESULT ')
    ]


@pytest.mark.xdist_group('pose_run')
def test_pose_user_config_train_publish_infer(pose_run, tmp_path):
    pytest.importorskip('mmpose')
    config, data, env = pose_run['config'], pose_run['data'], child_env()
    raw = pose_run['checkpoint']
    published = publish(raw, tmp_path / 'release' / 'my_pose.pth')
    image = next((data / 'images' / 'val').iterdir())
    lines = run_fresh(
        f"""
        from mmpose.apis import MMPoseInferencer
        inferencer = MMPoseInferencer(
            pose2d={str(config)!r}, pose2d_weights={published!r},
            det_model='whole_image', device='cpu')
        result = next(inferencer({str(image)!r},
                                 vis_out_dir={str(tmp_path / 'vis')!r}))
        (person,) = result['predictions'][0]
        print('RESULT keypoints', len(person['keypoints']))
        """,
        raw,
        env,
        tmp_path,
    )
    assert lines == ['raw checkpoint refused UnpicklingError', 'keypoints 17']
    assert len(list((tmp_path / 'vis').iterdir())) == 1


@pytest.mark.xdist_group('seg_run')
def test_seg_user_config_train_publish_infer(seg_run, tmp_path):
    pytest.importorskip('mmseg')
    config, data, env = seg_run['config'], seg_run['data'], child_env()
    raw = seg_run['checkpoint']
    published = publish(raw, tmp_path / 'my_seg.pth')
    image = data / 'img_dir' / 'val' / '00000.png'
    lines = run_fresh(
        f"""
        from mmseg.apis import MMSegInferencer
        inferencer = MMSegInferencer(
            model={str(config)!r}, weights={published!r}, device='cpu')
        result = inferencer({str(image)!r})
        print('RESULT mask', tuple(result['predictions'].shape))
        print('RESULT classes', inferencer.model.dataset_meta['classes'][1])
        """,
        raw,
        env,
        tmp_path,
    )
    assert lines == [
        'raw checkpoint refused UnpicklingError',
        'mask (64, 64)',
        'classes disc',
    ]
