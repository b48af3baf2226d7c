"""The checked seg datasets (datasets/seg.py): a wrong data folder, or one
without images or label maps, gets one error naming it."""

import logging
import shutil

import cv2
import numpy as np
import pytest

from litehrnet_mm.datasets import DatasetError
from tests.conftest import SHARED_DATA
from tests.test_datasets.building import build, needs_samples

# A label map of classes 0 and 1, as the 19-class datasets take.
LABELS = np.zeros((8, 8), np.uint8)
LABELS[2:6, 2:6] = 1


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


@needs_samples
def test_cityscapes_sample_s_label_ids_are_refused():
    """The real frame's official labelIds map named as the label maps."""
    with pytest.raises(DatasetError, match='_gtFine_labelIds.png holds lab'):
        build(
            'mmseg',
            type='litehrnet_mm.CityscapesDataset',
            data_root=str(SHARED_DATA / 'cityscapes-sample'),
            data_prefix=dict(
                img_path='leftImg8bit/val', seg_map_path='gtFine/val'
            ),
            seg_map_suffix='_gtFine_labelIds.png',
        )


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
        cv2.imwrite(str(tmp_path / 'ann' / f'{stem}.png'), LABELS)
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


def fake_cityscapes(root, labels):
    """One 8x8 frame in Cityscapes' layout with ``labels`` as its
    ``*_gtFine_labelTrainIds.png``."""
    for folder, suffix, array in (
        ('leftImg8bit', 'leftImg8bit', np.zeros((8, 8, 3), np.uint8)),
        ('gtFine', 'gtFine_labelTrainIds', labels),
    ):
        city = root / folder / 'val' / 'city'
        city.mkdir(parents=True)
        cv2.imwrite(str(city / f'city_000000_000000_{suffix}.png'), array)


def test_cityscapes_label_ids_instead_of_train_ids(tmp_path):
    """Label maps of Cityscapes' official ids (0-33) where mmseg reads its
    train ids (0-18, 255): one error naming the file and the labels, when
    the dataset is built; mmseg failed at the first training step inside
    the loss (``IndexError: Target 20 is out of bounds`` on the shared
    sample) and a test gave a wrong mIoU
    without any error."""
    label_ids = LABELS.copy()
    label_ids[0, :] = 26  # car
    label_ids[1, :] = 255  # ignored, as in train ids
    fake_cityscapes(tmp_path / 'ids', label_ids)
    with pytest.raises(DatasetError) as info:
        cityscapes(tmp_path / 'ids')
    message = str(info.value)
    assert 'city_000000_000000_gtFine_labelTrainIds.png holds labels 26 ' in (
        message
    )
    assert 'beyond its 19 classes; expected 0..18 (and 255' in message
    assert 'labelTrainIds.png files that mmseg' in message
    fake_cityscapes(tmp_path / 'train_ids', np.where(LABELS, 255, 18))
    assert len(cityscapes(tmp_path / 'train_ids')) == 1


def test_seg_label_map_colour_or_unreadable(tmp_path):
    fake_cityscapes(tmp_path / 'colour', np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DatasetError, match='has 3 channels; expected a si'):
        cityscapes(tmp_path / 'colour')
    fake_cityscapes(tmp_path / 'empty', LABELS)
    for label in (tmp_path / 'empty').glob('gtFine/val/*/*.png'):
        label.write_bytes(b'')
    with pytest.raises(DatasetError, match='is not a readable image'):
        cityscapes(tmp_path / 'empty')


def test_seg_labels_with_reduce_zero_label(tmp_path):
    """ADE20K's maps: 0 is ignored and 1..150 are its 150 classes, so 150
    fits; 151 does not."""
    (tmp_path / 'img').mkdir()
    (tmp_path / 'ann').mkdir()
    cv2.imwrite(str(tmp_path / 'img' / 'a.jpg'), np.zeros((8, 8, 3)))

    def ade(top_label):
        labels = LABELS.copy()
        labels[0, 0] = top_label
        cv2.imwrite(str(tmp_path / 'ann' / 'a.png'), labels)
        return build(
            'mmseg',
            type='litehrnet_mm.ADE20KDataset',
            data_root=str(tmp_path),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
        )

    assert len(ade(150)) == 1
    with pytest.raises(DatasetError, match='holds labels 150 beyond its 150'):
        ade(151)


def test_labels_are_checked_after_the_class_subsets_label_map(tmp_path):
    """With metainfo naming some of the classes, mmseg maps the others to
    255 and the kept ones to their index in the subset: labels beyond the
    subset's count are fine until mapped, and judged after."""
    labels = LABELS.copy()
    labels[0, :] = 13  # car: 1 in (road, car)
    labels[1, :] = 5  # pole: not kept, 255
    fake_cityscapes(tmp_path, labels)
    dataset = build(
        'mmseg',
        type='litehrnet_mm.CityscapesDataset',
        data_root=str(tmp_path),
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'
        ),
        metainfo=dict(classes=('road', 'car')),
    )
    assert len(dataset) == 1 and dataset.label_map[13] == 1


def own_classes(
    root, maps, classes=('background', 'road', 'car'), pipeline=None, **kwargs
):
    """A user's 3-class dataset (background, road, car) of one image per
    label map, read through mmseg's own loading and packing."""
    pytest.importorskip('mmseg')
    from mmengine.registry import DATASETS, init_default_scope

    (root / 'img').mkdir(parents=True)
    (root / 'ann').mkdir()
    for i, labels in enumerate(maps):
        cv2.imwrite(str(root / 'img' / f'{i}.png'), np.zeros((8, 8, 3)))
        cv2.imwrite(str(root / 'ann' / f'{i}.png'), labels)
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='litehrnet_mm.BaseSegDataset',
            data_root=str(root),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            img_suffix='.png',
            seg_map_suffix='.png',
            metainfo=dict(classes=classes) if classes else None,
            pipeline=pipeline
            or [
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs'),
            ],
            **kwargs,
        )
    )


def test_a_later_label_map_beyond_the_classes_is_named(tmp_path):
    """The build reads the first label map alone; a later one with a label
    beyond the classes reached the loss (``IndexError: Target 7 is out of
    bounds``) or the metric without a word."""
    beyond = LABELS.copy()
    beyond[0, 0] = 7
    ignored = np.where(LABELS, 2, 255).astype(np.uint8)
    dataset = own_classes(tmp_path, [LABELS, ignored, beyond])
    assert dataset[0]['data_samples'].gt_sem_seg.data.max() == 1
    assert dataset[1]['data_samples'].gt_sem_seg.data.max() == 255
    with pytest.raises(
        DatasetError, match=r'2.png holds labels 7 beyond its 3 classes; exp'
    ):
        dataset[2]


def test_a_later_colour_label_map_is_named(tmp_path):
    colour = np.dstack([LABELS * 100, LABELS * 50, LABELS])
    dataset = own_classes(tmp_path, [LABELS, colour])
    with pytest.raises(
        DatasetError, match=r'1.png is read as an array of shape \(8, 8, 3\)'
    ):
        dataset[1]


def test_a_0_255_mask_gets_a_warning(tmp_path, monkeypatch):
    """255 is mmseg's ignore_index: a foreground written as 255 is never
    learned, and mmseg says nothing."""
    from litehrnet_mm.datasets import seg

    logged, levels = [], []

    def log(msg, level=None, **kwargs):
        logged.append(msg)
        levels.append(level)

    monkeypatch.setattr(seg, 'print_log', log)
    own_classes(tmp_path / 'indices', [LABELS])
    # Only background (an image without the classes) is no 0/255 mask.
    own_classes(tmp_path / 'background', [np.zeros((8, 8), np.uint8)])
    assert not logged
    own_classes(tmp_path / 'mask', [np.where(LABELS, 255, 0)])
    assert len(logged) == 1
    assert (
        '0.png holds only 0 and 255 (ignored: no pixel is learned as '
        'road, car...); if it is a 0/255 mask' in (logged[0])
    )
    assert levels == [logging.WARNING]
    assert (
        'expected class indices 0..2 (e.g. 1 where it has 255)' in (logged[0])
    )


def test_a_label_map_of_another_size_than_its_image_is_named(tmp_path):
    """mmseg scored it inside the metric (IndexError on the mask)."""
    small = LABELS[::2, ::2].copy()
    dataset = own_classes(tmp_path, [LABELS, small])
    dataset[0]
    with pytest.raises(
        DatasetError,
        match=r'1.png is 4x4 after the pipeline, its image .*1.png 8x8 as '
        r'read \(8x8 after the pipeline\); expected a label map of its '
        r"image's size",
    ):
        dataset[1]


def test_a_test_pipeline_that_resizes_the_image_alone_is_no_mismatch(
    tmp_path,
):
    """mmseg's test pipelines (Cityscapes', ADE20K's) resize the image and
    then load the label map at the image's size as read, which the metric
    reads; the check named every such sample a mismatch."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 16), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]
    small = LABELS[::2, ::2].copy()
    dataset = own_classes(tmp_path, [LABELS, small], pipeline=pipeline)
    assert tuple(dataset[0]['inputs'].shape[-2:]) == (16, 16)
    assert tuple(dataset[0]['data_samples'].gt_sem_seg.shape) == (8, 8)
    # A label map of another size than its image is still named.
    with pytest.raises(DatasetError, match='1.png is 4x4 after the pipeline'):
        dataset[1]


def test_a_label_of_the_class_count_is_beyond_and_many_are_cut(tmp_path):
    """3 is one beyond classes 0..2; seven labels beyond are shown as the
    first five."""
    three = LABELS.copy()
    three[0, 0] = 3
    many = LABELS.copy()
    many[0, :7] = np.arange(3, 10)
    dataset = own_classes(tmp_path, [LABELS, three, many])
    with pytest.raises(DatasetError, match=r'1.png holds labels 3 beyond its'):
        dataset[1]
    with pytest.raises(
        DatasetError, match=r'2.png holds labels 3, 4, 5, 6, 7, \.\.\. beyon'
    ):
        dataset[2]


def test_a_dataset_without_classes_has_no_labels_to_check(tmp_path):
    beyond = LABELS.copy()
    beyond[0, 0] = 7
    dataset = own_classes(tmp_path, [LABELS, beyond], classes=None)
    assert dataset[1]['data_samples'].gt_sem_seg.data.max() == 7


def test_a_label_map_of_another_height_and_width_names_both(tmp_path):
    dataset = own_classes(tmp_path, [LABELS, LABELS[:4].copy()])
    cv2.imwrite(str(tmp_path / 'img' / '1.png'), np.zeros((8, 6, 3)))
    with pytest.raises(
        DatasetError,
        match=r'1.png is 4x8 after the pipeline, its image .*1.png 8x6 as '
        r'read \(8x6 after the pipeline\); ',
    ):
        dataset[1]


def test_each_test_time_augmented_sample_is_checked(tmp_path):
    """TestTimeAug packs lists of images and samples."""
    beyond = LABELS.copy()
    beyond[0, 0] = 7
    tta = [
        dict(type='LoadImageFromFile'),
        dict(
            type='TestTimeAug',
            transforms=[
                [
                    dict(type='RandomFlip', prob=0.0),
                    dict(type='RandomFlip', prob=1.0),
                ],
                [dict(type='LoadAnnotations')],
                [dict(type='PackSegInputs')],
            ],
        ),
    ]
    dataset = own_classes(tmp_path, [LABELS, beyond], pipeline=tta)
    assert len(dataset[0]['data_samples']) == 2
    with pytest.raises(DatasetError, match=r'1.png holds labels 7 beyond'):
        dataset[1]


def test_a_sample_without_a_label_map_is_not_checked(tmp_path):
    """A pipeline without LoadAnnotations (inference on images alone)."""
    plain = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    dataset = own_classes(tmp_path, [LABELS], pipeline=plain)
    assert 'gt_sem_seg' not in dataset[0]['data_samples']
