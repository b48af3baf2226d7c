"""Lite-HRNet for the OpenMMLab 2.x stack (mmpose and mmsegmentation).

Importing the package registers ``litehrnet_mm.LiteHRNet`` in the
``litehrnet_mm`` registry scope, allowlists the types of mmengine's
checkpoints for ``torch.load(weights_only=True)`` and registers its loader
for local checkpoint paths with mmengine (``CheckpointLoader``, the hook
mmengine offers for it): errors on a missing or broken file name it, and a
Lite-HRNet state dict is tagged with its file for the backbone's checks;
any other checkpoint loads exactly as without the import. It needs neither
mmpose nor mmseg.
"""

from .checkpoint import allow_mmengine_checkpoints, register_checkpoint_loader
from .errors import (
    ArchError,
    ArchTypeError,
    CheckpointError,
    ConfigError,
    DatasetError,
    DeployError,
    LiteHRNetError,
    PublishError,
)
from .models import LiteHRNet
from .version import __version__

allow_mmengine_checkpoints()
register_checkpoint_loader()

__all__ = [
    'ArchError',
    'ArchTypeError',
    'CheckpointError',
    'ConfigError',
    'DatasetError',
    'DeployError',
    'LiteHRNet',
    'LiteHRNetError',
    'PublishError',
    '__version__',
    'allow_mmengine_checkpoints',
]
