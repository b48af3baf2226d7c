"""Lite-HRNet for the OpenMMLab 2.x stack (mmpose and mmsegmentation).

Importing the package registers ``litehrnet_mm.LiteHRNet`` in the
``litehrnet_mm`` registry scope, allowlists the types of mmengine's
checkpoints for ``torch.load(weights_only=True)`` and wraps mmengine's
local checkpoint loader: errors on a missing or broken file name it, and a
Lite-HRNet state dict is tagged with its file for the backbone's checks;
any other checkpoint loads exactly as without the import. It needs neither
mmpose nor mmseg.
"""

from .checkpoint import allow_mmengine_checkpoints, register_checkpoint_loader
from .errors import CheckpointError, DatasetError, LiteHRNetError
from .models import LiteHRNet
from .version import __version__

allow_mmengine_checkpoints()
register_checkpoint_loader()

__all__ = [
    'CheckpointError',
    'DatasetError',
    'LiteHRNet',
    'LiteHRNetError',
    '__version__',
    'allow_mmengine_checkpoints',
]
