"""Lite-HRNet for the OpenMMLab 2.x stack (mmpose and mmsegmentation).

Importing the package registers ``litehrnet_mm.LiteHRNet`` in the
``litehrnet_mm`` registry scope and allowlists the types of mmengine's
checkpoints for ``torch.load(weights_only=True)``. It needs neither mmpose
nor mmseg.
"""

from .checkpoint import allow_mmengine_checkpoints
from .models import LiteHRNet
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['LiteHRNet', '__version__', 'allow_mmengine_checkpoints']
