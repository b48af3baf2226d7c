"""The models the tools measure and export: a host model built from an
mmpose or mmseg config file, or a preset with the 1x1 heatmap conv."""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from litehrnet_mm.models.backbones.litehrnet import LiteHRNet


class PoseModel(nn.Module):
    """A backbone and the 1x1 conv of a top-down heatmap head (the model of
    the official table), for reports without a config file."""

    task = 'pose'

    def __init__(self, backbone: nn.Module, num_keypoints: int = 17) -> None:
        super().__init__()
        self.backbone = backbone
        (channels,) = backbone.out_channels
        self.final_layer = nn.Conv2d(channels, num_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.backbone(x)[0])


class HostModel(nn.Module):
    """An mmpose or mmseg model seen as ``image -> head output`` (the
    host's ``_forward``: backbone, neck, head; no pre- or post-processing)."""

    def __init__(self, model: nn.Module, task: str) -> None:
        super().__init__()
        self.model = model
        self.task = task

    @property
    def backbone(self) -> nn.Module:
        return self.model.backbone

    def forward(self, x: torch.Tensor):
        return self.model._forward(x)


def scope_of(cfg) -> str:
    """The host of a config: ``'mmpose'`` or ``'mmseg'``."""
    scope = cfg.get('default_scope')
    if scope in ('mmpose', 'mmseg'):
        return scope
    model_type = str(cfg.model.get('type', ''))
    if model_type in ('EncoderDecoder', 'CascadeEncoderDecoder'):
        return 'mmseg'
    return 'mmpose'


def build_from_config(config, checkpoint: Optional[str] = None) -> HostModel:
    """Build the model of an mmpose or mmseg config (a path or an mmengine
    ``Config``) in eval mode, SyncBN turned into BN, optionally loading a
    checkpoint."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = scope_of(cfg)
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpose.registry import MODELS
    model_cfg = cfg.model.copy()
    if checkpoint is not None:
        # The checkpoint replaces any pretrained backbone weights.
        model_cfg.get('backbone', {}).pop('init_cfg', None)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    if checkpoint is not None:
        from mmengine.runner import load_checkpoint

        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return HostModel(model, 'seg' if scope == 'mmseg' else 'pose').eval()


def default_shape(config) -> Tuple[int, int]:
    """(H, W) of a config's input: the codec's input size (pose), the crop
    size (seg), else 256x192."""
    from mmengine.config import Config

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    codec = cfg.get('codec')
    if isinstance(codec, dict) and 'input_size' in codec:
        w, h = codec['input_size']
        return int(h), int(w)
    crop = cfg.get('crop_size')
    if crop is not None:
        return int(crop[0]), int(crop[1])
    return 256, 192


def build_preset(arch: str = '18', num_keypoints: int = 17) -> PoseModel:
    """A preset backbone with the 1x1 heatmap conv, in eval mode."""
    return PoseModel(LiteHRNet(arch=arch), num_keypoints).eval()


def parse_shape(value: Optional[Sequence[int]]) -> Optional[Tuple[int, int]]:
    if value is None:
        return None
    if len(value) == 1:
        return int(value[0]), int(value[0])
    if len(value) != 2:
        raise ValueError(f'--shape takes H W or one size; got {value}')
    return int(value[0]), int(value[1])
