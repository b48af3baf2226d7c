"""mmseg's datasets, checking their folders first.

``type='litehrnet_mm.CityscapesDataset'`` (or ``ADE20KDataset``,
``BaseSegDataset``) behaves as mmseg's class of the same name once its
folders are found to be right: a missing or empty image folder, images a
split file names but the folder lacks, or images without their label maps,
get one error naming the path and the expected file names; so does a
first label map with labels beyond the classes (another labelling scheme).
"""

import logging
import os.path as osp
from typing import List

import mmcv
import numpy as np
from mmengine.logging import print_log

from litehrnet_mm.errors import DatasetError
from litehrnet_mm.registry import DATASETS

from .checks import require_dir

try:
    from mmseg.datasets import ADE20KDataset as _ADE20KDataset
    from mmseg.datasets import BaseSegDataset as _BaseSegDataset
    from mmseg.datasets import CityscapesDataset as _CityscapesDataset
except ImportError:  # mmseg is optional for the package
    _BaseSegDataset = None


class _CheckedFolders:
    def load_data_list(self) -> List[dict]:
        name = type(self).__name__
        img_dir = self.data_prefix.get('img_path')
        ann_dir = self.data_prefix.get('seg_map_path')
        hint = ' (check data_root and data_prefix)'
        require_dir(img_dir, f'{name}: image folder', hint)
        if ann_dir:
            require_dir(ann_dir, f'{name}: label folder', hint)
        data_list = super().load_data_list()
        if not data_list:
            raise DatasetError(
                f'{name}: no image ending in {self.img_suffix!r} under '
                f'{img_dir}; expected at least one'
            )
        # A split file (ann_file) names images by stem: with another
        # img_suffix or folder they are missing.
        absent = [
            info['img_path']
            for info in data_list
            if not osp.isfile(info['img_path'])
        ]
        if absent:
            raise DatasetError(
                f'{name}: {len(absent)} of {len(data_list)} images not '
                f'found, e.g. {absent[0]}; expected files ending in '
                f'{self.img_suffix!r} under {img_dir} (check img_suffix, '
                'data_prefix and the names in ann_file)'
            )
        missing = [
            info['seg_map_path']
            for info in data_list
            if 'seg_map_path' in info and not osp.isfile(info['seg_map_path'])
        ]
        if missing:
            raise DatasetError(
                f'{name}: {len(missing)} of {len(data_list)} images have no '
                f'label map, e.g. {missing[0]}; expected one file ending in '
                f'{self.seg_map_suffix!r} per image under {ann_dir}'
            )
        if data_list[0].get('seg_map_path'):
            self._check_labels(data_list[0]['seg_map_path'])
        return data_list

    _label_hint = ''

    def prepare_data(self, idx: int):
        """The host's sample, its label map checked as the loss and the
        metric will read it (after ``LoadAnnotations``' ``reduce_zero_label``
        and ``label_map``): the check at build time reads the first label
        map alone, and a later one with labels beyond the classes failed
        inside the loss (``IndexError: Target 5 is out of bounds``) or was
        scored without a word."""
        data = super().prepare_data(idx)
        if isinstance(data, dict):
            samples = data.get('data_samples')
            # One image and its sample; test-time augmentation packs lists.
            image = data.get('inputs')
            if isinstance(samples, list):
                image = None
            for sample in samples if isinstance(samples, list) else [samples]:
                gt = getattr(getattr(sample, 'gt_sem_seg', None), 'data', None)
                if gt is not None:
                    self._check_packed_labels(gt, idx, sample, image)
        return data

    def _check_packed_labels(self, gt, idx: int, sample, image) -> None:
        path = getattr(sample, 'seg_map_path', None) or (
            self.get_data_info(idx).get('seg_map_path')
        )
        if gt.ndim != 3 or gt.shape[0] != 1:
            raise DatasetError(
                f'{type(self).__name__}: label map {path} is read as an '
                f'array of shape {tuple(gt.shape)}; expected a '
                'single-channel PNG of class indices (a colour picture of '
                'the classes is not one)'
            )
        # Another size than its image: a test failed inside the metric
        # (IndexError on the mask), training stretched or cut the labels.
        # A label map is its image's size after the pipeline (training:
        # loaded before the resizes and crops) or as read (mmseg's test
        # pipelines load it after the resize: the metric reads it at the
        # image's own size).
        size = tuple(getattr(image, 'shape', ())[-2:])
        read = tuple(sample.ori_shape) if 'ori_shape' in sample else size
        if len(size) == 2 and tuple(gt.shape[-2:]) not in (size, read):
            raise DatasetError(
                f'{type(self).__name__}: label map {path} is '
                f'{gt.shape[-2]}x{gt.shape[-1]} after the pipeline, its '
                f'image {sample.img_path if "img_path" in sample else ""} '
                f'{read[0]}x{read[1]} as read ({size[0]}x{size[1]} after '
                "the pipeline); expected a label map of its image's size"
            )
        classes = self.metainfo.get('classes')
        if not classes:
            return
        num_classes = len(classes)
        beyond = (gt >= num_classes) & (gt != self.ignore_index)
        if bool(beyond.any()):
            bad = [int(v) for v in gt[beyond].unique()]
            raise self._labels_beyond(path, bad, num_classes)

    def _labels_beyond(
        self, path: str, bad: List[int], num_classes: int
    ) -> DatasetError:
        return DatasetError(
            f'{type(self).__name__}: label map {path} holds labels '
            f'{", ".join(map(str, sorted(bad)[:5]))}'
            f'{", ..." if len(bad) > 5 else ""} beyond its '
            f'{num_classes} classes; expected 0..{num_classes - 1} '
            f'(and {self.ignore_index} for pixels to ignore)'
            f'{self._label_hint}'
        )

    def _check_labels(self, path: str) -> None:
        """The first label map holds class indices of this dataset, as
        mmseg's ``LoadAnnotations`` reads them: labels of another scheme
        (Cityscapes' labelIds, 0-33, for its 19 train ids) would fail at
        the first training step inside the loss, without a name, and give
        a wrong mIoU in a test without any error."""
        classes = self.metainfo.get('classes')
        if not classes:  # a BaseSegDataset without metainfo: none to check
            return
        name = type(self).__name__
        try:
            labels = mmcv.imread(path, flag='unchanged', backend='pillow')
        except Exception as e:  # PIL's UnidentifiedImageError, OSError
            raise DatasetError(
                f'{name}: label map {path} is not a readable image '
                f'({type(e).__name__}); expected a single-channel PNG of '
                'class indices'
            ) from None
        labels = labels.squeeze()
        if labels.ndim != 2:
            raise DatasetError(
                f'{name}: label map {path} has {labels.shape[-1]} channels; '
                'expected a single-channel PNG of class indices (a '
                'colour picture of the classes is not one)'
            )
        labels = np.unique(labels.astype(np.uint8))
        if self.reduce_zero_label:
            # As LoadAnnotations: 0 is ignored, the rest shift down by one.
            labels = np.unique(np.where(labels == 0, 255, labels - 1))
            labels[labels == 254] = 255
        if self.label_map:
            labels = np.array([self.label_map.get(int(v), v) for v in labels])
        num_classes = len(classes)
        bad = [
            int(v)
            for v in labels
            if v >= num_classes and v != self.ignore_index
        ]
        if bad:
            raise self._labels_beyond(path, bad, num_classes)
        if set(labels.tolist()) == {0, self.ignore_index} and (
            num_classes > 1
        ):
            # A 0/255 mask (what image editors and cv2.threshold write):
            # mmseg ignores the 255 pixels, so the other classes are never
            # learned, without a word.
            print_log(
                f'{name}: label map {path} holds only 0 and '
                f'{self.ignore_index} (ignored: no pixel is learned as '
                f'{", ".join(map(str, classes[1:3]))}...); if it is a '
                f'0/{self.ignore_index} mask, expected class indices '
                f'0..{num_classes - 1} (e.g. 1 where it has '
                f'{self.ignore_index})',
                logger='current',
                level=logging.WARNING,
            )


if _BaseSegDataset is not None:

    @DATASETS.register_module()
    class BaseSegDataset(_CheckedFolders, _BaseSegDataset):
        """mmseg's ``BaseSegDataset`` with its folders checked first."""

    @DATASETS.register_module()
    class CityscapesDataset(_CheckedFolders, _CityscapesDataset):
        """mmseg's ``CityscapesDataset`` with its folders checked first.

        The label maps are the ``*_gtFine_labelTrainIds.png`` files that
        mmseg's ``tools/dataset_converters/cityscapes.py`` writes from the
        official ``*_gtFine_polygons.json``; a folder with only the official
        files gets an error naming that suffix, and label maps of the
        official ids (``*_gtFine_labelIds.png``, 0-33) one naming the labels
        beyond the 19 classes.
        """

        _label_hint = (
            "; Cityscapes' train ids are the *_gtFine_labelTrainIds.png "
            "files that mmseg's tools/dataset_converters/cityscapes.py "
            'writes, not the official labelIds'
        )

    @DATASETS.register_module()
    class ADE20KDataset(_CheckedFolders, _ADE20KDataset):
        """mmseg's ``ADE20KDataset`` with its folders checked first."""
