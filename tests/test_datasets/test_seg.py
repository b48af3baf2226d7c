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


def test_seg_split_file_naming_images_the_folder_lacks(tmp_path):
    """With a split file mmseg lists images by name without looking: a
    wrong img_suffix is named when the dataset is built, not at the first
    batch inside the loader."""
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    for stem in ('a', 'b'):
        (tmp_path / 'img' / f'{stem}.jpg').write_bytes(b'')
        (tmp_path / 'ann' / f'{stem}.png').write_bytes(b'')
    (tmp_path / 'train.txt').write_text('a\nb\n')

    def split(img_suffix):
        return build(
            'mmseg',
            type='litehrnet_mm.BaseSegDataset',
            data_root=str(tmp_path),
            ann_file='train.txt',
            img_suffix=img_suffix,
            seg_map_suffix='.png',
            data_prefix=dict(img_path='img', seg_map_path='ann'),
        )

    assert len(split('.jpg')) == 2
    with pytest.raises(DatasetError) as info:
        split('.png')
    assert '2 of 2 images not found' in str(info.value)
    assert f"{tmp_path}/img/a.png; expected files ending in '.png'" in str(
        info.value
    )
