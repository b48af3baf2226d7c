"""The COCO person-keypoints check names the file and its first problem."""

import json

import pytest

from litehrnet_mm import DatasetError
from litehrnet_mm.datasets.coco_keypoints import (
    KEYPOINT_NAMES,
    NUM_KEYPOINTS,
    check_coco_keypoints_file,
)


def coco(tmp_path, keypoints, width=40, **ann):
    path = tmp_path / 'ann.json'
    path.write_text(
        json.dumps(
            dict(
                images=[dict(id=1, file_name='a.png', width=width, height=40)],
                annotations=[
                    dict(
                        id=1,
                        image_id=1,
                        bbox=[0, 0, 10, 10],
                        keypoints=keypoints,
                        **ann,
                    )
                ],
                categories=[dict(id=1, name='person')],
            )
        )
    )
    return str(path)


def test_coco_s_seventeen_keypoints():
    assert NUM_KEYPOINTS == len(KEYPOINT_NAMES) == 17
    assert KEYPOINT_NAMES[0] == 'nose' and KEYPOINT_NAMES[-1] == 'right_ankle'


def test_a_good_file_is_returned(tmp_path):
    kp = [5.0, 5.0, 2] * NUM_KEYPOINTS
    data = check_coco_keypoints_file(coco(tmp_path, kp))
    assert data['annotations'][0]['keypoints'] == kp


def test_a_wrong_keypoint_count_is_named(tmp_path):
    with pytest.raises(DatasetError, match='expected 17 keypoints'):
        check_coco_keypoints_file(coco(tmp_path, [5.0, 5.0, 2] * 16))


def test_a_folder_is_not_an_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'{tmp_path}: a folder'):
        check_coco_keypoints_file(str(tmp_path))


def test_missing_images_are_named(tmp_path):
    path = coco(tmp_path, [5.0, 5.0, 2] * NUM_KEYPOINTS)
    with pytest.raises(DatasetError, match='image file missing'):
        check_coco_keypoints_file(path, str(tmp_path))


def test_checker_names_the_bad_file(tmp_path):
    missing = tmp_path / 'missing.json'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        check_coco_keypoints_file(str(missing))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [')
    with pytest.raises(DatasetError, match=str(broken)):
        check_coco_keypoints_file(str(broken))
    wrong = tmp_path / 'wrong.json'
    wrong.write_text(json.dumps({'images': []}))
    with pytest.raises(DatasetError, match=str(wrong)):
        check_coco_keypoints_file(str(wrong))
    kp = [0.0] * 3 * NUM_KEYPOINTS
    kp[0:3] = [50.0, 5.0, 2]  # x beyond a 40-pixel-wide image
    with pytest.raises(DatasetError, match='outside'):
        check_coco_keypoints_file(coco(tmp_path, kp))


def _one_keypoint_at(x, y, v):
    kp = [0.0, 0.0, 0] * NUM_KEYPOINTS
    kp[3:6] = [x, y, v]
    return kp


def test_inside_is_within_the_width_and_the_height_of_its_image(tmp_path):
    # A 60x40 image: x < 60, y < 40; a keypoint labelled 1 (occluded)
    # counts as labelled, one labelled 0 may lie anywhere.
    for x, y, v in [(59.5, 39.5, 2), (0, 0, 1), (500, 500, 0)]:
        check_coco_keypoints_file(
            coco(tmp_path, _one_keypoint_at(x, y, v), 60)
        )
    for x, y, v in [
        (60, 5, 2),
        (5, 40, 2),
        (5, 50, 2),
        (-1, 5, 1),
        (5, 45, 1),
    ]:
        with pytest.raises(DatasetError, match='annotation 1: a labelled key'):
            check_coco_keypoints_file(
                coco(tmp_path, _one_keypoint_at(x, y, v), 60)
            )


def test_an_annotation_without_a_box_is_named(tmp_path):
    path = coco(tmp_path, [5.0, 5.0, 2] * NUM_KEYPOINTS)
    with open(path) as f:
        data = json.load(f)
    del data['annotations'][0]['bbox']
    with open(path, 'w') as f:
        json.dump(data, f)
    with pytest.raises(DatasetError, match=r'\(x, y, visibility each\) and a'):
        check_coco_keypoints_file(path)
