"""mmpose's COCO, MPII and COCO-WholeBody-Hand datasets, checking their
files first.

``type='litehrnet_mm.CocoDataset'`` behaves as mmpose's ``CocoDataset``
once its files are found to be right; a missing or empty data folder, a
malformed annotation or detection file gets one error naming the path.
"""

import logging
from typing import List, Tuple

import mmengine
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import is_list_of

from litehrnet_mm.errors import DatasetError
from litehrnet_mm.registry import DATASETS

from .checks import require_dir, require_file, require_images
from .pose_metainfo import check_pose_metainfo

try:
    from mmpose.datasets import CocoDataset as _CocoDataset
    from mmpose.datasets import CocoWholeBodyHandDataset as _HandDataset
    from mmpose.datasets import MpiiDataset as _MpiiDataset
except ImportError:  # mmpose is optional for the package
    _CocoDataset = _HandDataset = _MpiiDataset = None

LOAD_ERRORS = (AssertionError, KeyError, IndexError, TypeError, ValueError)


def _load_or_none(path: str):
    """A JSON file's content, or None where it cannot be read."""
    try:
        return mmengine.load(path)
    except Exception:
        return None


class _CheckedFiles:
    """Checks shared by the top-down datasets; ``_kind`` names the format."""

    _kind = ''
    _instance = 'person'

    @classmethod
    def _load_metainfo(cls, metainfo: dict = None) -> dict:
        # A metainfo of the user's own keypoints (a dict or its from_file):
        # mmpose asserts without a message, or parses a wrong flip.
        if isinstance(metainfo, dict) and metainfo:
            check_pose_metainfo(metainfo, cls.__name__)
        return super()._load_metainfo(metainfo)

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        name = type(self).__name__
        require_file(
            self.ann_file,
            f'{name}: annotation file',
            f'; expected {self._kind} (check data_root and ann_file)',
        )
        require_dir(
            self.data_prefix.get('img'),
            f'{name}: image folder',
            ' (check data_root and data_prefix)',
        )
        try:
            instances, images = super()._load_annotations()
        except LOAD_ERRORS as e:
            raise DatasetError(
                f'{name}: annotation file {self.ann_file} is not '
                f'{self._kind} ({type(e).__name__}: {e})'
            ) from None
        if not instances:
            raise DatasetError(
                f'{name}: annotation file {self.ann_file} holds no '
                f'{self._instance} instance; expected at least one'
            )
        self._check_keypoint_count(instances)
        require_images(
            (i['img_path'] for i in instances),
            self.data_prefix.get('img'),
            self.ann_file,
        )
        return instances, images

    def _check_keypoint_count(self, instances: List[dict]) -> None:
        """Every instance with the dataset's number of keypoints (mmpose
        reshapes whatever count a file holds, and fails at the first
        batch, in a flip, without a name)."""
        expected = self.metainfo.get('num_keypoints')
        if expected is None:
            return
        for instance in instances:
            shape = np.shape(instance.get('keypoints'))
            if len(shape) < 2 or shape[-2] != expected:
                count = shape[-2] if len(shape) >= 2 else 'no'
                raise DatasetError(
                    f'{type(self).__name__}: annotation file {self.ann_file}:'
                    f' an instance of {instance.get("img_path")} has {count}'
                    f" keypoints; expected {expected} (the dataset's "
                    f'metainfo, {self.metainfo.get("dataset_name")})'
                )


if _CocoDataset is not None:

    @DATASETS.register_module()
    class CocoDataset(_CheckedFiles, _CocoDataset):
        """mmpose's ``CocoDataset`` with its files checked first."""

        _kind = 'a COCO person-keypoints JSON file'

        def _load_detection_results(self) -> List[dict]:
            # mmpose reads the annotation file here too (the images'
            # names), after the detection file.
            require_file(
                self.ann_file,
                'CocoDataset: annotation file',
                f'; expected {self._kind} (check data_root and ann_file)',
            )
            require_file(
                self.bbox_file,
                'CocoDataset: detection file',
                '; expected COCO detection results (bbox_file), or '
                "bbox_file=None for the annotation file's own boxes (a "
                'config for your own data that inherits the COCO configs '
                'keeps their COCO detection file otherwise)',
            )
            try:
                instances = super()._load_detection_results()
            except LOAD_ERRORS as e:
                raise DatasetError(self._file_at_fault(e)) from None
            if not instances:
                raise DatasetError(
                    f'CocoDataset: detection file {self.bbox_file} holds no '
                    'person box above the score threshold'
                )
            return instances

        def _file_at_fault(self, error: Exception) -> str:
            """Which of the two files mmpose failed on: the detections, the
            annotations, or neither alone (detections of images the
            annotation file does not list)."""
            why = f'({type(error).__name__}: {error})'
            if not is_list_of(_load_or_none(self.bbox_file), dict):
                return (
                    f'CocoDataset: detection file {self.bbox_file} is not '
                    f'a list of COCO detection results {why}'
                )
            annotations = _load_or_none(self.ann_file)
            if not isinstance(annotations, dict) or 'images' not in (
                annotations
            ):
                return (
                    f'CocoDataset: annotation file {self.ann_file} is not '
                    f'{self._kind} {why}'
                )
            return (
                f'CocoDataset: detection file {self.bbox_file} does not fit '
                f'annotation file {self.ann_file} {why}; expected '
                'detections (image_id, category_id, bbox, score) of the '
                "annotation file's images"
            )

    @DATASETS.register_module()
    class MpiiDataset(_CheckedFiles, _MpiiDataset):
        """mmpose's ``MpiiDataset`` with its files checked first."""

        _kind = (
            "mmpose's MPII JSON (a list of dicts with image, center, "
            'scale, joints, joints_vis)'
        )

        def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
            if self.headbox_file:
                require_file(
                    self.headbox_file,
                    'MpiiDataset: headbox file',
                    '; expected mpii_gt_val.mat (headbox_file)',
                )
            elif self.test_mode:
                # Not an error: a PCK normalised by the box needs none. But
                # the configs' PCKh would fail only at the first validation,
                # after a whole interval of training.
                print_log(
                    f'MpiiDataset: {self.ann_file} in test mode without '
                    'headbox_file: its instances have no head size, which '
                    "PCKh (MpiiPCKAccuracy, the configs' metric) needs, so "
                    'an evaluation with it will fail; expected headbox_file='
                    '<data_root>annotations/mpii_gt_val.mat',
                    logger='current',
                    level=logging.WARNING,
                )
            return super()._load_annotations()

    @DATASETS.register_module()
    class CocoWholeBodyHandDataset(_CheckedFiles, _HandDataset):
        """mmpose's ``CocoWholeBodyHandDataset`` with its files checked
        first."""

        _kind = (
            'a COCO-WholeBody JSON file (lefthand_kpts, righthand_kpts, '
            '... per person)'
        )
        _instance = 'valid hand'
