"""The check of a COCO person-keypoints file, and COCO's keypoints.

The pose configs and the synthetic pose dataset rely on a COCO file with
images, annotations of the 17 COCO keypoints inside their image, and a
bounding box each; :func:`check_coco_keypoints_file` says which of these a
file lacks, naming it, before a runner fails on it without a name.
"""

import json
import os.path as osp
from typing import Optional

import numpy as np

from litehrnet_mm.errors import DatasetError
from litehrnet_mm.utils.paths import require_file

__all__ = ['KEYPOINT_NAMES', 'NUM_KEYPOINTS', 'check_coco_keypoints_file']

#: COCO's person keypoints, in its order.
KEYPOINT_NAMES = (
    'nose',
    'left_eye',
    'right_eye',
    'left_ear',
    'right_ear',
    'left_shoulder',
    'right_shoulder',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'left_hip',
    'right_hip',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)


def check_coco_keypoints_file(
    ann_file: str, img_dir: Optional[str] = None
) -> dict:
    """Load a COCO person-keypoints file and check what the pose configs
    rely on; raise :class:`~litehrnet_mm.errors.DatasetError` naming the
    file at the first problem (``FileNotFoundError`` when it is missing).

    Returns the loaded dict.
    """
    require_file(ann_file, 'annotation file')
    try:
        with open(ann_file) as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        raise DatasetError(
            f'{ann_file}: not a readable JSON file ({err})'
        ) from err

    def fail(msg: str):
        raise DatasetError(f'{ann_file}: {msg}')

    if not isinstance(data, dict):
        fail('expected a COCO dict with images, annotations, categories')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            fail(f'missing the list "{key}"')
    if not data['images']:
        fail('no images')
    images = {}
    for im in data['images']:
        if not all(k in im for k in ('id', 'file_name', 'width', 'height')):
            fail(f'image record without id/file_name/width/height: {im}')
        images[im['id']] = im
        if img_dir is not None and not osp.isfile(
            osp.join(img_dir, im['file_name'])
        ):
            fail(f'image file missing: {osp.join(img_dir, im["file_name"])}')
    for ann in data['annotations']:
        im = images.get(ann.get('image_id'))
        if im is None:
            fail(f'annotation {ann.get("id")} names an unknown image')
        kp = np.asarray(ann.get('keypoints', []), dtype=np.float64)
        if kp.size != 3 * NUM_KEYPOINTS or len(ann.get('bbox', [])) != 4:
            fail(
                f'annotation {ann.get("id")}: expected {NUM_KEYPOINTS} '
                'keypoints (x, y, visibility each) and a bbox'
            )
        kp = kp.reshape(NUM_KEYPOINTS, 3)
        inside = (
            (kp[:, 0] >= 0)
            & (kp[:, 0] < im['width'])
            & (kp[:, 1] >= 0)
            & (kp[:, 1] < im['height'])
        )
        if not np.all(inside[kp[:, 2] > 0]):
            fail(f'annotation {ann["id"]}: a labelled keypoint lies outside')
    return data
