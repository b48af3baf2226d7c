"""The synthetic pose dataset is valid COCO, varied, reproducible, and bad
inputs stop with one error naming the path."""

import importlib.util
import json

import numpy as np
import pytest

from litehrnet_mm.data.synthetic_pose import (
    KEYPOINT_NAMES,
    generate_pose_dataset,
)
from litehrnet_mm.datasets import check_coco_keypoints_file
from tests.conftest import REPO


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_pose')
    files = generate_pose_dataset(str(root), num_train=12, num_val=6, seed=3)
    return root, files


def test_pycocotools_loads_both_splits(dataset):
    from pycocotools.coco import COCO

    root, files = dataset
    assert set(files) == {'train', 'val'}
    for split, ann_file in files.items():
        coco = COCO(ann_file)
        (cat,) = coco.loadCats(coco.getCatIds())
        assert cat['name'] == 'person'
        assert cat['keypoints'] == list(KEYPOINT_NAMES)
        assert len(coco.getImgIds()) == (12 if split == 'train' else 6)
        assert len(coco.getAnnIds()) > len(coco.getImgIds())


def test_keypoints_and_boxes_lie_inside_their_images(dataset):
    import cv2

    root, files = dataset
    for split, ann_file in files.items():
        data = check_coco_keypoints_file(
            ann_file, str(root / 'images' / split)
        )
        images = {im['id']: im for im in data['images']}
        for im in data['images']:
            img = cv2.imread(str(root / 'images' / split / im['file_name']))
            assert img.shape == (im['height'], im['width'], 3)
        for ann in data['annotations']:
            im = images[ann['image_id']]
            kp = np.array(ann['keypoints']).reshape(len(KEYPOINT_NAMES), 3)
            labelled = kp[:, 2] > 0
            assert ann['num_keypoints'] == labelled.sum() >= 4
            assert np.all(kp[~labelled, :2] == 0)
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and w > 0 and h > 0
            assert x + w <= im['width'] and y + h <= im['height']
            assert 0 < ann['area'] <= w * h
            # Labelled keypoints near the figure (a joint may sit just
            # outside the drawn pixels, never far).
            pad = 0.1 * max(w, h)
            assert np.all(kp[labelled, 0] >= x - pad)
            assert np.all(kp[labelled, 0] <= x + w + pad)


def test_the_dataset_is_hard_enough_to_mean_something(dataset):
    root, files = dataset
    anns = json.loads(open(files['train']).read())['annotations']
    kp = np.array([a['keypoints'] for a in anns]).reshape(
        -1, len(KEYPOINT_NAMES), 3
    )
    per_image = np.bincount([a['image_id'] for a in anns])[1:]
    assert per_image.max() >= 3  # several figures per image
    assert (kp[..., 2] == 1).any()  # occluded joints
    assert (kp[..., 2] == 0).any()  # joints outside the image
    heights = np.array([a['bbox'][3] for a in anns])
    assert heights.max() > 1.8 * heights.min()  # varied scale


def test_same_seed_same_dataset(tmp_path):
    a = generate_pose_dataset(str(tmp_path / 'a'), num_train=2, num_val=1)
    b = generate_pose_dataset(str(tmp_path / 'b'), num_train=2, num_val=1)
    for split in ('train', 'val'):
        assert open(a[split]).read() == open(b[split]).read()
    assert (tmp_path / 'a/images/train/train_000001.png').read_bytes() == (
        tmp_path / 'b/images/train/train_000001.png'
    ).read_bytes()


def test_train_and_val_differ(dataset):
    root, _ = dataset
    assert (root / 'images/train/train_000001.png').read_bytes() != (
        root / 'images/val/val_000001.png'
    ).read_bytes()


def test_output_folder_that_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('')
    with pytest.raises(NotADirectoryError, match=str(path)):
        generate_pose_dataset(str(path), num_train=1, num_val=1)


def _pose_demo():
    spec = importlib.util.spec_from_file_location(
        'pose_demo', REPO / 'tools/demo/pose_demo.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_stops_on_a_bad_data_folder(tmp_path, dataset):
    demo = _pose_demo()
    missing = tmp_path / 'nowhere'
    with pytest.raises(SystemExit, match=f'not found: {missing}'):
        demo.check_dataset(str(missing))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(SystemExit, match=f'empty: {empty}'):
        demo.check_dataset(str(empty))
    root, files = dataset
    demo.check_dataset(str(root))  # a good one passes
    bad = tmp_path / 'bad'
    (bad / 'annotations').mkdir(parents=True)
    (bad / 'annotations/train.json').write_text('not json')
    with pytest.raises(SystemExit, match=str(bad / 'annotations/train.json')):
        demo.check_dataset(str(bad))


def test_box_and_visibility_by_drawn_masks(monkeypatch):
    """Masks drawn to order: the box is the mask's tight box (both ends
    in), a joint under a later figure is labelled hidden (v=1)."""
    from litehrnet_mm.data import synthetic_pose

    boxes = iter([(10, 20, 5, 15), (0, 40, 0, 40), (0, 40, 0, 40)])

    def draw(img, mask, kpts, shape, h, rng):
        y0, y1, x0, x1 = next(boxes)
        mask[y0:y1, x0:x1] = 1

    monkeypatch.setattr(synthetic_pose, '_draw_figure', draw)
    _, figures = synthetic_pose.render_pose_image(
        np.random.default_rng(0), 40, 40, num_figures=(2, 2), occluder_prob=0
    )
    first, second = figures
    assert first['bbox'] == [5.0, 10.0, 10.0, 10.0]
    assert first['area'] == 100.0
    # The second figure covers the whole image: every joint of the first
    # inside it is hidden, its own are visible.
    inside = first['keypoints'][:, 2] > 0
    assert inside.sum() >= 4 and (first['keypoints'][inside, 2] == 1).all()
    seen = second['keypoints'][:, 2]
    assert set(seen[seen > 0]) == {2}
    assert second['bbox'] == [0.0, 0.0, 40.0, 40.0]


@pytest.mark.parametrize('inside, annotated', [(3, 0), (4, 1)])
def test_a_figure_with_under_4_joints_inside_is_not_annotated(
    monkeypatch, inside, annotated
):
    from litehrnet_mm.data import synthetic_pose

    def draw(img, mask, kpts, shape, h, rng):
        mask[:] = 1

    def figure(rng, h):
        # Placed by an offset in [-7.05, 0.05] on a 40x40 image: the
        # joints at 20-23 stay inside, those at 0 and 47 fall outside.
        kpts = np.full((len(KEYPOINT_NAMES), 2), 47.0)
        kpts[0] = 0.0
        kpts[1 : 1 + inside] = 20.0 + np.arange(inside)[:, None]
        return kpts, {}

    monkeypatch.setattr(synthetic_pose, '_draw_figure', draw)
    monkeypatch.setattr(synthetic_pose, '_figure_keypoints', figure)
    _, figures = synthetic_pose.render_pose_image(
        np.random.default_rng(0), 40, 40, num_figures=(1, 1), occluder_prob=0
    )
    assert len(figures) == annotated
    if figures:
        assert np.count_nonzero(figures[0]['keypoints'][:, 2]) == inside
