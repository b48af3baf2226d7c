"""The ``litehrnet_mm`` registry scope.

``MODELS`` is a child of mmengine's root ``MODELS``, the parent of the
mmpose and mmseg registries too. When an mmpose or mmseg config names
``type='litehrnet_mm.LiteHRNet'``, mmengine imports this module (it looks
for ``<scope>.registry``), finds the child registry by its scope, and the
registry imports ``litehrnet_mm.models`` (its ``locations``) to register the
backbone: no ``custom_imports`` and no code in the config. mmpose's own
``LiteHRNet`` stays what ``type='LiteHRNet'`` names in an mmpose config.
"""

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='litehrnet_mm',
    locations=['litehrnet_mm.models'],
)

#: The hosts' datasets with their files checked first
#: (``type='litehrnet_mm.CocoDataset'``, ...).
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='litehrnet_mm',
    locations=['litehrnet_mm.datasets.pose', 'litehrnet_mm.datasets.seg'],
)

#: The check that a config's head fits its dataset, in our configs'
#: ``default_hooks`` (``type='litehrnet_mm.CheckDataFitsModel'``).
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='litehrnet_mm',
    locations=['litehrnet_mm.hooks'],
)
