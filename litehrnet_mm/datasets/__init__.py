"""Dataset checks, and the hosts' datasets with their files checked first
(one clear error naming the path for a wrong data folder).

The checked datasets (:mod:`.pose`, :mod:`.seg`) are imported by the
``litehrnet_mm`` DATASETS registry when a config names
``litehrnet_mm.<Dataset>``; each registers only when its host is
installed. Importing this package imports neither host.
"""

from litehrnet_mm.errors import DatasetError

from .coco_keypoints import check_coco_keypoints_file

__all__ = ['DatasetError', 'check_coco_keypoints_file']
