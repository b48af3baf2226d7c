"""What inference needs, read from a config at export time
(deploy/metadata.py): the task, the normalisation, and the keypoints and
skeleton or the classes and palette, of the demo configs and of configs
without a dataset."""

import json

import pytest
from mmengine.config import Config

from litehrnet_mm.data.synthetic_seg import CLASSES, PALETTE
from litehrnet_mm.deploy.metadata import config_metadata
from tests.conftest import POSE_DEMO, SEG_DEMO

pytest.importorskip('mmpose')
pytest.importorskip('mmseg')

IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def without_dataset(cfg):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg.pop(loader, None)
    return cfg


def test_a_pose_config_gives_its_keypoints_and_skeleton():
    meta = config_metadata(Config.fromfile(str(POSE_DEMO)))
    assert meta['task'] == 'pose'
    assert {k: meta[k] for k in ('mean', 'std')} == IMAGENET
    assert meta['bgr_to_rgb'] is True
    # COCO's 17 keypoints (the demo's dataset class) and 19 links.
    assert len(meta['keypoints']) == 17
    assert meta['keypoints'][:3] == ['nose', 'left_eye', 'right_eye']
    assert len(meta['skeleton']) == len(meta['link_colors']) == 19
    assert [15, 13] in meta['skeleton']
    assert len(meta['keypoint_colors']) == 17
    # The test pipeline's GetBBoxCenterScale pads the box by its default.
    assert meta['box_padding'] == 1.25
    cfg = Config.fromfile(str(POSE_DEMO))
    cfg.test_dataloader.dataset.pipeline[1]['padding'] = 1.5
    assert cfg.test_dataloader.dataset.pipeline[1]['type'] == (
        'GetBBoxCenterScale'
    )
    assert config_metadata(cfg)['box_padding'] == 1.5
    # Stored as JSON beside the artifact.
    assert json.loads(json.dumps(meta)) == meta


def test_a_seg_config_gives_its_classes_and_palette():
    meta = config_metadata(Config.fromfile(str(SEG_DEMO)))
    assert meta['task'] == 'seg'
    assert {k: meta[k] for k in ('mean', 'std')} == IMAGENET
    # The demo's synthetic classes, from the config's metainfo.
    assert meta['classes'] == list(CLASSES)
    assert meta['palette'] == [list(c) for c in PALETTE]
    assert json.loads(json.dumps(meta)) == meta


def test_without_a_dataset_keypoints_and_classes_go_by_number():
    pose = config_metadata(without_dataset(Config.fromfile(str(POSE_DEMO))))
    assert pose['keypoints'] == [str(i) for i in range(17)]
    assert pose['skeleton'] == [] and pose['link_colors'] == []
    seg_cfg = without_dataset(Config.fromfile(str(SEG_DEMO)))
    seg = config_metadata(seg_cfg)
    assert seg['classes'] == [str(i) for i in range(6)]
    # A palette of its own, the same at every export.
    assert len(seg['palette']) == 6
    assert config_metadata(seg_cfg)['palette'] == seg['palette']


@pytest.mark.parametrize('drop', [(), ('bgr_to_rgb',), ('mean', 'std')])
@pytest.mark.parametrize('demo', [POSE_DEMO, SEG_DEMO], ids=['pose', 'seg'])
def test_the_normalisation_is_the_hosts_data_preprocessor(demo, drop):
    """The metadata normalises an image as the config's data preprocessor
    (built by the host, the oracle) does, also where the config leaves a
    setting to the preprocessor's default."""
    import numpy as np
    import torch
    from mmengine.registry import MODELS

    from litehrnet_mm.deploy.predict import make_predictor

    cfg = Config.fromfile(str(demo))
    pre_cfg = cfg.model.setdefault('data_preprocessor', {})
    for key in drop:
        pre_cfg.pop(key, None)
    meta = config_metadata(cfg)
    pre = MODELS.build(cfg.model.data_preprocessor)
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    chw = torch.from_numpy(image.transpose(2, 0, 1).copy())
    data = dict(inputs=[chw], data_samples=[])
    expected = pre(data, False)['inputs'][0].numpy()
    predictor = make_predictor(dict(meta, input_shape=[1, 3, 64, 64]))
    np.testing.assert_allclose(
        predictor._normalise(image), expected, rtol=1e-5, atol=1e-4
    )


def test_a_head_that_does_not_fit_the_config_s_dataset_is_named():
    """A config of one's own keypoints or classes that forgets the head:
    the export would write a model of 17 heatmaps beside the metadata of
    the dataset's keypoints. One error naming the setting, before the
    checkpoint is read."""
    from litehrnet_mm import ConfigError

    pose = Config.fromfile(str(POSE_DEMO))
    pose.model.head.out_channels = 5
    with pytest.raises(
        ConfigError,
        match=r"out_channels=5, but the test dataset's metainfo \(coco\) has "
        r'17 keypoints \(nose, .*\); expected model.head.out_channels=17',
    ):
        config_metadata(pose)
    seg = Config.fromfile(str(SEG_DEMO))
    seg.model.decode_head.num_classes = 19
    with pytest.raises(ConfigError, match='num_classes=19, but .* 6 classes'):
        config_metadata(seg)


def test_a_metainfo_file_s_mistake_is_named_as_the_dataset_names_it(
    tmp_path,
):
    """mmpose's parser raised KeyError: 'rigth_eye'."""
    from litehrnet_mm.datasets import DatasetError

    info = tmp_path / 'info.py'
    info.write_text(
        "dataset_info = dict(dataset_name='two', keypoint_info={0: dict("
        "name='left_eye', id=0, swap='rigth_eye'), 1: dict(name='right_eye',"
        " id=1, swap='left_eye')}, skeleton_info={}, joint_weights=[1, 1],"
        ' sigmas=[])\n'
    )
    cfg = Config.fromfile(str(POSE_DEMO))
    cfg.model.head.out_channels = 2
    cfg.test_dataloader.dataset.metainfo = dict(from_file=str(info))
    with pytest.raises(
        DatasetError,
        match=r'export: metainfo file .*info.py: keypoint_info\[0\] '
        r"\('left_eye'\) swaps with 'rigth_eye', which is no keypoint",
    ):
        config_metadata(cfg)
