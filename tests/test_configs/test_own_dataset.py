"""A dataset of one's own, with the README's configs ("Your own
dataset") as a user copies them, the paths replaced: a COCO-format file of
5 keypoints with its dataset_info file, and 3 classes of label maps."""

import json
import re

import numpy as np
import pytest

from litehrnet_mm.utils.mim import MimFailed, run_mim
from tests.conftest import REPO

pytest.importorskip('mmpose')
pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402

# nose, shoulders and hips of the synthetic figures' 17 COCO keypoints
FIVE = [0, 5, 6, 11, 12]


def readme_config(name, folder, root):
    """The README's block that starts with ``# name``, written to
    ``folder/name`` with our configs' path and ``root`` put in."""
    readme = (REPO / 'README.md').read_text()
    section = readme.split('\n## Your own dataset\n')[1].split('\n## ')[0]
    blocks = re.findall(r'```python\n(.*?)```', section, re.S)
    (text,) = [b for b in blocks if b.startswith(f'# {name}\n')]
    text = text.replace("['configs/", f"['{REPO}/configs/")
    text = re.sub(r"'/data/my\w*/'", repr(f'{root}/'), text)
    path = folder / name
    path.write_text(text)
    return path


def five_keypoints(root):
    """The synthetic pose dataset cut to 5 keypoints (COCO's format)."""
    from litehrnet_mm.data.synthetic_pose import generate_pose_dataset

    generate_pose_dataset(
        str(root), num_train=4, num_val=2, image_size=(128, 128)
    )
    for split in ('train', 'val'):
        path = root / 'annotations' / f'{split}.json'
        data = json.loads(path.read_text())
        for ann in data['annotations']:
            kpts = np.reshape(ann['keypoints'], (17, 3))[FIVE]
            ann['keypoints'] = kpts.ravel().tolist()
            ann['num_keypoints'] = int(np.count_nonzero(kpts[:, 2]))
        path.write_text(json.dumps(data))


@pytest.mark.slow
def test_the_readme_s_pose_config_trains_and_tests_5_keypoints(tmp_path):
    from litehrnet_mm.deploy.metadata import config_metadata

    five_keypoints(tmp_path / 'data')
    readme_config('my_info.py', tmp_path, tmp_path / 'data')
    config = readme_config('my_pose.py', tmp_path, tmp_path / 'data')
    short = tmp_path / 'short.py'
    loader = 'dict(batch_size=2, num_workers=0, persistent_workers=False)'
    short.write_text(
        "_base_ = ['my_pose.py']\n"
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        f'train_dataloader = {loader}\n'
        f'val_dataloader = {loader}\n'
        'test_dataloader = val_dataloader\n'
        'default_hooks = dict(logger=dict(interval=1))\n'
    )
    meta = config_metadata(Config.fromfile(str(config)))
    assert meta['keypoints'] == [
        'nose',
        'left_shoulder',
        'right_shoulder',
        'left_hip',
        'right_hip',
    ]
    assert [0, 1] in meta['skeleton'] and len(meta['skeleton']) == 5
    work = tmp_path / 'work'
    args = ['--gpus', '0', '--work-dir', work]
    log = run_mim(['train', 'mmpose', short, *args], cwd=tmp_path)
    assert 'coco/AP' in log
    log = run_mim(
        ['test', 'mmpose', short, '--checkpoint', work / 'epoch_1.pth']
        + ['--work-dir', tmp_path / 'test'],
        cwd=tmp_path,
    )
    assert 'coco/AP' in log
    # The base's 17 heatmaps kept: one error before the first step.
    with pytest.raises(MimFailed) as failed:
        run_mim(
            ['train', 'mmpose', short, *args]
            + ['--cfg-options', 'model.head.out_channels=17'],
            cwd=tmp_path,
        )
    assert (
        'ConfigError: model.head.out_channels=17, but the train dataset '
        '(my5) has 5 keypoints (nose, left_shoulder, right_shoulder, '
        'left_hip, right_hip); expected model.head.out_channels=5'
    ) in failed.value.output


def test_the_readme_s_seg_config_reads_3_classes(tmp_path):
    """The config loads, its dataset reads label maps of 3 classes through
    the base's pipeline, and its head fits them (the export's check)."""
    import cv2
    from mmengine.registry import DATASETS, init_default_scope

    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset
    from litehrnet_mm.deploy.metadata import config_metadata

    data = tmp_path / 'data'
    generate_seg_dataset(str(data), 2, 1, size=(64, 64))
    to_three = np.array([0, 1, 1, 2, 2, 2] + [255] * 250, np.uint8)
    for path in data.glob('ann_dir/*/*.png'):
        cv2.imwrite(str(path), to_three[cv2.imread(str(path), 0)])
    cfg = Config.fromfile(str(readme_config('my_seg.py', tmp_path, data)))
    assert config_metadata(cfg)['classes'] == ['background', 'road', 'car']
    init_default_scope('mmseg')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 2
    labels = dataset[0]['data_samples'].gt_sem_seg.data
    assert set(labels.unique().tolist()) <= {0, 1, 2, 255}
