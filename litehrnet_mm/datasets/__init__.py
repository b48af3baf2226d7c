"""The hosts' datasets with their files checked first (one clear error
naming the path for a wrong data folder). Imported by the ``litehrnet_mm``
DATASETS registry when a config names ``litehrnet_mm.<Dataset>``; each
host's part registers only when that host is installed."""

from litehrnet_mm.errors import DatasetError

from . import pose, seg  # noqa: F401

__all__ = ['DatasetError']
