"""One error base: every error about input the package can name is a
LiteHRNetError, a ValueError, and its kind can be caught apart."""

import pytest

import litehrnet_mm
from litehrnet_mm import CheckpointError, DatasetError, LiteHRNetError
from litehrnet_mm.data.synthetic_pose import check_coco_keypoints_file
from litehrnet_mm.data.synthetic_seg import check_seg_dataset


def test_one_base_two_kinds_exported():
    assert issubclass(LiteHRNetError, ValueError)
    for kind in (CheckpointError, DatasetError):
        assert issubclass(kind, LiteHRNetError)
        assert kind.__name__ in litehrnet_mm.__all__
    assert not issubclass(CheckpointError, DatasetError)
    assert not issubclass(DatasetError, CheckpointError)
    # The names the package used before stay the same classes.
    from litehrnet_mm.checkpoint import CheckpointError as from_checkpoint
    from litehrnet_mm.datasets import DatasetError as from_datasets

    assert from_checkpoint is CheckpointError
    assert from_datasets is DatasetError


def test_generated_datasets_raise_dataset_errors(tmp_path):
    broken = tmp_path / 'broken.json'
    broken.write_text('{')
    with pytest.raises(DatasetError, match=str(broken)):
        check_coco_keypoints_file(str(broken))
    with pytest.raises(DatasetError, match='dataset folder not found'):
        check_seg_dataset(str(tmp_path / 'nowhere'))
