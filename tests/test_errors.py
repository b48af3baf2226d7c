"""One error base: every error about input the package can name is a
LiteHRNetError, a ValueError, and its kind can be caught apart."""

import pytest

import litehrnet_mm
from litehrnet_mm import (
    ArchError,
    ArchTypeError,
    CheckpointError,
    ConfigError,
    DatasetError,
    DeployError,
    LiteHRNet,
    LiteHRNetError,
    PublishError,
)
from litehrnet_mm.data.synthetic_seg import check_seg_dataset
from litehrnet_mm.datasets import check_coco_keypoints_file
from litehrnet_mm.publish import publish_checkpoint

KINDS = (
    ArchError,
    CheckpointError,
    ConfigError,
    DatasetError,
    DeployError,
    PublishError,
)


def test_one_base_and_its_kinds_exported():
    assert issubclass(LiteHRNetError, ValueError)
    for kind in KINDS + (ArchTypeError,):
        assert issubclass(kind, LiteHRNetError)
        assert kind.__name__ in litehrnet_mm.__all__
    for a in KINDS:
        for b in KINDS:
            assert issubclass(a, b) == (a is b)
    # A setting of the wrong type is a TypeError too, as Python's own.
    assert issubclass(ArchTypeError, (ArchError, TypeError))
    assert not issubclass(ArchError, TypeError)
    from litehrnet_mm.datasets import DatasetError as from_datasets
    from litehrnet_mm.publish import PublishError as from_publish

    assert from_datasets is DatasetError
    assert from_publish is PublishError


def test_backbone_settings_raise_arch_errors():
    with pytest.raises(ArchError, match='in_channels'):
        LiteHRNet(in_channels=0)
    with pytest.raises(ArchTypeError, match='in_channels'):
        LiteHRNet(in_channels='3')
    with pytest.raises(ArchError, match='num_groups'):
        LiteHRNet(norm_cfg=dict(type='GN'))
    with pytest.raises(ArchTypeError, match='pretrained'):
        LiteHRNet(pretrained=3)


def test_generated_datasets_raise_dataset_errors(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{')
    with pytest.raises(DatasetError, match=str(broken)):
        check_coco_keypoints_file(str(broken))
    with pytest.raises(DatasetError, match='dataset folder not found'):
        check_seg_dataset(str(tmp_path / 'nowhere'))


def test_publishing_raises_publish_errors(tmp_path):
    with pytest.raises(PublishError, match='a folder'):
        publish_checkpoint(str(tmp_path), str(tmp_path / 'out.pth'))
