"""The synthetic segmentation dataset: its layout, determinism, classes
that colour alone does not tell apart, and one clear error for a bad
folder."""

import cv2
import numpy as np
import pytest

from litehrnet_mm import DatasetError
from litehrnet_mm.data.synthetic_seg import (
    CLASSES,
    check_seg_dataset,
    generate_seg_dataset,
    make_sample,
)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('seg') / 'data'
    counts = generate_seg_dataset(str(root), 12, 6, size=(64, 80), seed=3)
    return root, counts


def test_layout_and_counts(dataset):
    root, counts = dataset
    assert counts == {'train': 12, 'val': 6}
    assert check_seg_dataset(str(root)) == counts
    for split, n in counts.items():
        imgs = sorted((root / 'img_dir' / split).glob('*.png'))
        anns = sorted((root / 'ann_dir' / split).glob('*.png'))
        assert len(imgs) == n
        assert [p.name for p in imgs] == [p.name for p in anns]
        img = cv2.imread(str(imgs[0]), cv2.IMREAD_COLOR)
        ann = cv2.imread(str(anns[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (64, 80, 3) and ann.shape == (64, 80)
        assert ann.dtype == np.uint8


def test_same_seed_same_files(dataset, tmp_path):
    root, _ = dataset
    generate_seg_dataset(str(tmp_path), 12, 6, size=(64, 80), seed=3)
    for rel in ('img_dir/train/00011.png', 'ann_dir/val/00005.png'):
        assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes()
    other = tmp_path / 'other'
    generate_seg_dataset(str(other), 12, 6, size=(64, 80), seed=4)
    rel = 'img_dir/train/00000.png'
    assert (other / rel).read_bytes() != (root / rel).read_bytes()


def test_every_class_appears_with_clutter():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        img, label = make_sample(rng, (96, 96))
        seen |= set(np.unique(label).tolist())
        # Clutter and texture: the background is far from one flat colour.
        assert img[label == 0].std(axis=0).max() > 10
    assert seen == set(range(len(CLASSES)))


def test_objects_are_textured_not_flat():
    """Every object is two-toned (its texture), and its colours vary from
    object to object."""
    rng = np.random.default_rng(1)
    means = {c: [] for c in range(1, len(CLASSES))}
    for _ in range(60):
        img, label = make_sample(rng, (96, 96))
        for c in means:
            pixels = img[label == c].astype(float)
            if len(pixels) > 200:
                assert pixels.std(axis=0).max() > 25, CLASSES[c]
                means[c].append(pixels.mean(axis=0))
    for c, values in means.items():
        assert len(values) > 3, CLASSES[c]
        assert np.std(values, axis=0).max() > 8, CLASSES[c]


def test_missing_folder_is_named(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(DatasetError, match=str(missing)):
        check_seg_dataset(str(missing))


def test_empty_folder_is_named(tmp_path):
    (tmp_path / 'img_dir' / 'train').mkdir(parents=True)
    (tmp_path / 'ann_dir' / 'train').mkdir(parents=True)
    with pytest.raises(
        DatasetError, match=f'{tmp_path / "img_dir" / "train"}: no .png'
    ):
        check_seg_dataset(str(tmp_path), splits=('train',))


def test_malformed_files_are_named(dataset, tmp_path):
    root = tmp_path / 'data'
    generate_seg_dataset(str(root), 2, 2, size=(48, 48))
    bad_img = root / 'img_dir' / 'val' / '00001.png'
    bad_img.write_bytes(b'not a png')
    with pytest.raises(DatasetError, match=f'{bad_img}: not a readable'):
        check_seg_dataset(str(root))

    generate_seg_dataset(str(root), 2, 2, size=(48, 48))
    ann = root / 'ann_dir' / 'train' / '00000.png'
    cv2.imwrite(str(ann), np.full((48, 48), 9, np.uint8))
    with pytest.raises(DatasetError, match=f'{ann}: label 9 out of'):
        check_seg_dataset(str(root))

    cv2.imwrite(str(ann), np.zeros((40, 48), np.uint8))
    with pytest.raises(DatasetError, match=f'{ann}: size'):
        check_seg_dataset(str(root))

    ann.unlink()
    with pytest.raises(DatasetError, match=f'{ann}: label map not'):
        check_seg_dataset(str(root))


def test_bad_arguments(tmp_path):
    a_file = tmp_path / 'file'
    a_file.write_text('')
    with pytest.raises(DatasetError, match=f'{a_file}: exists and is'):
        generate_seg_dataset(str(a_file), 1, 1)
    with pytest.raises(ValueError, match='num_val=0'):
        generate_seg_dataset(str(tmp_path / 'd'), 1, 0)
    with pytest.raises(ValueError, match='size'):
        generate_seg_dataset(str(tmp_path / 'd'), 1, 1, size=(16, 16))


def test_a_label_equal_to_the_class_count_is_out_of_range(tmp_path):
    root = tmp_path / 'data'
    generate_seg_dataset(str(root), 1, 1, size=(32, 32))
    ann = root / 'ann_dir' / 'val' / '00000.png'
    cv2.imwrite(str(ann), np.full((32, 32), len(CLASSES), np.uint8))
    with pytest.raises(
        DatasetError, match=f'{ann}: label {len(CLASSES)} out of range'
    ):
        check_seg_dataset(str(root))
    cv2.imwrite(str(ann), np.full((32, 32), len(CLASSES) - 1, np.uint8))
    assert check_seg_dataset(str(root)) == {'train': 1, 'val': 1}


def test_a_count_of_true_is_refused(tmp_path):
    with pytest.raises(ValueError, match='num_train=True; expected a pos'):
        generate_seg_dataset(str(tmp_path / 'd'), True, 1)
