"""A user's own config, without ``custom_imports``: ``mim train``, then
``tools/misc/publish_model.py``, then ``MMPoseInferencer`` /
``MMSegInferencer`` in a fresh process. The inferencers load the checkpoint
before the config's ``litehrnet_mm.LiteHRNet`` imports the package; the
published file needs nothing of it. A few iterations on tiny generated
data."""

import subprocess
import sys
import textwrap

import pytest

from ..conftest import REPO, run_mim

pytest.importorskip('mim')

from mmengine.config import Config  # noqa: E402

DEMO = REPO / 'configs' / 'demo'
TOOL = REPO / 'tools' / 'misc' / 'publish_model.py'


def user_config(base, path, **overrides):
    """Our demo config flattened into one file of the user's, without
    ``custom_imports`` (the backbone still named litehrnet_mm.LiteHRNet)."""
    cfg = Config.fromfile(str(base))
    cfg.pop('custom_imports')
    cfg.merge_from_dict(overrides)
    cfg.dump(str(path))
    assert 'custom_imports' not in path.read_text()
    assert "'litehrnet_mm.LiteHRNet'" in path.read_text()
    return path


def publish(checkpoint, out, env):
    proc = subprocess.run(
        [sys.executable, str(TOOL), str(checkpoint), str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


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


def test_pose_user_config_train_publish_infer(tmp_path, subprocess_env):
    pytest.importorskip('mmpose')
    from litehrnet_mm.data.synthetic_pose import generate_pose_dataset

    data = tmp_path / 'data'
    generate_pose_dataset(
        str(data), num_train=4, num_val=1, image_size=(128, 128)
    )
    loader = dict(num_workers=0, persistent_workers=False)
    config = user_config(
        DEMO / 'td-hm_litehrnet-18_synthetic-128x96.py',
        tmp_path / 'my_pose.py',
        train_cfg=dict(max_epochs=1, val_interval=2),
        train_dataloader=dict(
            batch_size=2, dataset=dict(data_root=f'{data}/'), **loader
        ),
        val_dataloader=dict(dataset=dict(data_root=f'{data}/'), **loader),
        test_dataloader=dict(dataset=dict(data_root=f'{data}/'), **loader),
        val_evaluator=dict(ann_file=f'{data}/annotations/val.json'),
        test_evaluator=dict(ann_file=f'{data}/annotations/val.json'),
        default_hooks=dict(checkpoint=dict(interval=1)),
    )
    work = tmp_path / 'work'
    run_mim(
        ['train', 'mmpose', config, '--gpus', '0', '--work-dir', work],
        subprocess_env,
        tmp_path,
    )
    raw = work / 'epoch_1.pth'
    published = publish(
        raw, tmp_path / 'release' / 'my_pose.pth', subprocess_env
    )
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
        subprocess_env,
        tmp_path,
    )
    assert lines == ['raw checkpoint refused UnpicklingError', 'keypoints 17']
    assert len(list((tmp_path / 'vis').iterdir())) == 1


def test_seg_user_config_train_publish_infer(tmp_path, subprocess_env):
    pytest.importorskip('mmseg')
    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset

    data = tmp_path / 'data'
    generate_seg_dataset(str(data), 4, 1, size=(64, 64), seed=1)
    loader = dict(num_workers=0, persistent_workers=False)
    config = user_config(
        DEMO / 'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py',
        tmp_path / 'my_seg.py',
        train_cfg=dict(max_iters=2, val_interval=3),
        train_dataloader=dict(
            batch_size=2, dataset=dict(data_root=str(data)), **loader
        ),
        val_dataloader=dict(dataset=dict(data_root=str(data)), **loader),
        test_dataloader=dict(dataset=dict(data_root=str(data)), **loader),
        default_hooks=dict(checkpoint=dict(interval=2)),
    )
    work = tmp_path / 'work'
    run_mim(['train', 'mmseg', config, '--work-dir', work], subprocess_env)
    raw = work / 'iter_2.pth'
    published = publish(raw, tmp_path / 'my_seg.pth', subprocess_env)
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
        subprocess_env,
        tmp_path,
    )
    assert lines == [
        'raw checkpoint refused UnpicklingError',
        'mask (64, 64)',
        'classes disc',
    ]
