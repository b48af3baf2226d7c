"""The checked seg datasets (datasets/seg.py): a wrong data folder, or one
without images or label maps, gets one error naming it."""

import shutil

import pytest

from litehrnet_mm.datasets import DatasetError
from tests.conftest import SHARED_DATA
from tests.test_datasets.building import build, needs_samples


def cityscapes(root):
    return build(
        'mmseg',
        type='litehrnet_mm.CityscapesDataset',
        data_root=str(root),
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'
        ),
    )


@needs_samples
def test_cityscapes_valid_and_without_label_maps(tmp_path):
    root = tmp_path / 'cityscapes'
    shutil.copytree(SHARED_DATA / 'cityscapes-sample', root)
    assert len(cityscapes(root)) == 1
    for label in root.glob('gtFine/val/*/*labelTrainIds.png'):
        label.unlink()
    with pytest.raises(
        DatasetError, match="_gtFine_labelTrainIds.png' per image"
    ):
        cityscapes(root)


def test_cityscapes_missing_folder(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=f'{tmp_path}/leftImg8bit/val: not found'
    ):
        cityscapes(tmp_path)


def test_seg_folder_without_images(tmp_path):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    (tmp_path / 'img' / 'a.jpg').write_bytes(b'')
    with pytest.raises(DatasetError, match=r"no image ending in '.png'"):
        build(
            'mmseg',
            type='litehrnet_mm.BaseSegDataset',
            data_root=str(tmp_path),
            img_suffix='.png',
            data_prefix=dict(img_path='img', seg_map_path='ann'),
        )
