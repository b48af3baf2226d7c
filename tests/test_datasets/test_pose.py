"""The checked pose datasets (datasets/pose.py): a wrong data folder or
annotation file gets one error naming it."""

import json
import shutil

import pytest

from litehrnet_mm.datasets import DatasetError
from tests.conftest import SHARED_DATA
from tests.test_datasets.building import build, needs_samples


def coco(root, **kwargs):
    return build(
        'mmpose',
        type='litehrnet_mm.CocoDataset',
        data_root=str(root),
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        **kwargs,
    )


@pytest.fixture
def coco_root(tmp_path):
    if not SHARED_DATA.is_dir():
        pytest.skip(f'{SHARED_DATA} (real samples) absent')
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'images').mkdir()
    src = SHARED_DATA / 'coco-sample'
    shutil.copy(src / 'test_coco.json', root / 'annotations' / 'train.json')
    for image in src.glob('*.jpg'):
        shutil.copy(image, root / 'images')
    return root


def test_coco_valid_folder_loads(coco_root):
    assert len(coco(coco_root)) == 12  # 14 people, 2 without keypoints


def test_coco_missing_folder(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=f'{tmp_path}/nowhere/annotations/train.json'
    ):
        coco(tmp_path / 'nowhere')


def test_coco_empty_folder(tmp_path):
    with pytest.raises(
        FileNotFoundError, match='annotation file .* not found'
    ):
        coco(tmp_path)


def test_coco_missing_image_folder(coco_root):
    shutil.rmtree(coco_root / 'images')
    with pytest.raises(FileNotFoundError, match=f'{coco_root}/images'):
        coco(coco_root)


def test_coco_missing_images(coco_root):
    for image in (coco_root / 'images').glob('*.jpg'):
        image.unlink()
    with pytest.raises(FileNotFoundError, match='named in .*train.json'):
        coco(coco_root)


@pytest.mark.parametrize(
    'content,words',
    [
        ('{"images": [', 'JSONDecodeError'),
        ('[1, 2, 3]', 'is not a COCO'),
        (
            '{"images": [], "annotations": [], "categories": []}',
            'no person instance',
        ),
    ],
)
def test_coco_malformed_annotation(coco_root, content, words):
    ann = coco_root / 'annotations' / 'train.json'
    ann.write_text(content)
    with pytest.raises(DatasetError) as info:
        coco(coco_root)
    assert str(ann) in str(info.value) and words in str(info.value)


def test_coco_keypoints_of_another_count(coco_root):
    """16 keypoints in a COCO file: named when the dataset is built, not
    at the first batch inside mmpose's flip."""
    ann = coco_root / 'annotations' / 'train.json'
    data = json.loads(ann.read_text())
    for annotation in data['annotations']:
        annotation['keypoints'] = annotation['keypoints'][:48]
    ann.write_text(json.dumps(data))
    with pytest.raises(DatasetError) as info:
        coco(coco_root)
    message = str(info.value)
    assert str(ann) in message
    assert 'has 16 keypoints; expected 17' in message


def coco_with_detections(root, annotations, detections):
    """Our CocoDataset in test mode on ``root`` with the detection file
    ``detections`` and ``annotations/<annotations>``."""
    return build(
        'mmpose',
        type='litehrnet_mm.CocoDataset',
        data_root=str(root),
        ann_file=f'annotations/{annotations}',
        data_prefix=dict(img='images/'),
        bbox_file=str(detections),
        test_mode=True,
    )


def test_coco_detection_file(coco_root):
    def with_dets(path):
        return coco_with_detections(coco_root, 'train.json', path)

    with pytest.raises(
        FileNotFoundError,
        match=r'missing_dets.json: not found; expected COCO detection '
        r'results \(bbox_file\), or bbox_file=None for the annotation '
        r"file's own boxes",
    ):
        with_dets(coco_root / 'missing_dets.json')
    dets = coco_root / 'dets.json'
    dets.write_text(json.dumps({'not': 'a list'}))
    with pytest.raises(DatasetError, match='dets.json'):
        with_dets(dets)
    dets.write_text('[]')
    with pytest.raises(DatasetError, match='no person box'):
        with_dets(dets)
    shutil.copy(
        SHARED_DATA / 'coco-sample' / 'test_coco_det_AP_H_56.json', dets
    )
    assert len(with_dets(dets)) > 0


@needs_samples
def test_mpii(tmp_path):
    src = SHARED_DATA / 'mpii-sample'
    kwargs = dict(
        type='litehrnet_mm.MpiiDataset',
        data_root=str(src),
        ann_file='test_mpii.json',
        data_prefix=dict(img=''),
    )
    assert len(build('mmpose', **kwargs)) == 5
    bad = tmp_path / 'mpii.json'
    bad.write_text('[{"image": "004645041.jpg"}]')
    with pytest.raises(DatasetError, match='mpii.json'):
        build('mmpose', **dict(kwargs, ann_file=str(bad)))


def test_hand_file_without_a_valid_hand(tmp_path):
    """COCO-WholeBody annotations whose hands are all invalid: one error
    naming the file, not an empty dataset."""
    (tmp_path / 'images').mkdir()
    person = dict(
        id=1,
        image_id=1,
        category_id=1,
        iscrowd=0,
        segmentation=[],
        area=1,
        bbox=[0, 0, 1, 1],
        lefthand_valid=False,
        lefthand_box=[0, 0, 0, 0],
        lefthand_kpts=[0] * 63,
        righthand_valid=False,
        righthand_box=[0, 0, 0, 0],
        righthand_kpts=[0] * 63,
    )
    ann = tmp_path / 'wholebody.json'
    ann.write_text(
        json.dumps(
            dict(
                images=[dict(id=1, file_name='a.jpg', width=8, height=8)],
                annotations=[person],
                categories=[dict(id=1, name='person')],
            )
        )
    )
    with pytest.raises(DatasetError, match=f'{ann} holds no valid hand'):
        build(
            'mmpose',
            type='litehrnet_mm.CocoWholeBodyHandDataset',
            data_root=str(tmp_path),
            ann_file='wholebody.json',
            data_prefix=dict(img='images/'),
        )


@needs_samples
def test_mpii_test_mode_without_head_boxes_says_pckh_will_fail(monkeypatch):
    """PCKh, the configs' metric, needs the head boxes: said when the
    validation set is built, not after an interval of training."""
    import litehrnet_mm.datasets.pose as pose

    logged = []
    monkeypatch.setattr(
        pose, 'print_log', lambda msg, **kwargs: logged.append(msg)
    )
    build(
        'mmpose',
        type='litehrnet_mm.MpiiDataset',
        data_root=str(SHARED_DATA / 'mpii-sample'),
        ann_file='test_mpii.json',
        data_prefix=dict(img=''),
        test_mode=True,
    )
    (message,) = logged
    assert 'without headbox_file' in message
    assert 'mpii_gt_val.mat' in message


def test_coco_detections_with_a_bad_annotation_file(tmp_path):
    """With a detection file (the COCO configs' val and test), mmpose reads
    the annotation file after it: a missing, non-JSON or MPII annotation
    file was reported as the detection file's fault ('detection file ...
    is not a list of COCO detection results'); now the file at fault is
    named, and detections of images the annotation file lacks are named
    as the two files' mismatch."""
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'images').mkdir()
    ann = tmp_path / 'annotations' / 'val.json'
    dets = tmp_path / 'dets.json'
    image = dict(id=1, file_name='a.jpg', height=8, width=8)
    person = dict(id=1, name='person')
    det = dict(image_id=1, category_id=1, bbox=[0, 0, 4, 4], score=0.9)
    dets.write_text(json.dumps([det]))

    def with_dets():
        return coco_with_detections(tmp_path, 'val.json', dets)

    with pytest.raises(FileNotFoundError) as info:
        with_dets()
    assert str(info.value).startswith(
        f'CocoDataset: annotation file {ann}: not found; expected a COCO'
    )
    for content in ('not json', json.dumps([dict(image='a.jpg')])):
        ann.write_text(content)
        with pytest.raises(DatasetError) as info:
            with_dets()
        assert str(info.value).startswith(
            f'CocoDataset: annotation file {ann} is not a COCO person-'
        )
    ann.write_text(json.dumps(dict(images=[image], categories=[person])))
    assert len(with_dets()) == 1
    # A good annotation file: the detection file is at fault.
    dets.write_text(json.dumps({'not': 'a list'}))
    with pytest.raises(DatasetError) as info:
        with_dets()
    assert str(info.value).startswith(
        f'CocoDataset: detection file {dets} is not a list of COCO detection'
    )
    dets.write_text(json.dumps([dict(det, image_id=2)]))
    with pytest.raises(DatasetError) as info:
        with_dets()
    assert str(info.value).startswith(
        f'CocoDataset: detection file {dets} does not fit annotation file '
        f'{ann} (KeyError'
    )
