"""The models the tools measure and export: a host model built from an
mmpose or mmseg config file, or a preset with the 1x1 heatmap conv."""

import copy
import os
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from litehrnet_mm.checkpoint import why_unloadable
from litehrnet_mm.errors import CheckpointError, ConfigError, LiteHRNetError
from litehrnet_mm.models.backbones.litehrnet import LiteHRNet
from litehrnet_mm.utils.paths import require_file

#: The suffixes mmengine reads configs from.
CONFIG_SUFFIXES = ('.py', '.json', '.yml', '.yaml')


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


def load_config(path: str, options: Optional[dict] = None):
    """The mmengine ``Config`` of the file ``path``, ``options``
    (``--cfg-options``) merged in; one clear error for a missing file, a
    file of another kind or one mmengine cannot parse."""
    from mmengine.config import Config

    require_file(
        path, 'config', '; expected an mmpose or mmseg config file (.py)'
    )
    if os.path.splitext(path)[1].lower() not in CONFIG_SUFFIXES:
        raise ConfigError(
            f'config {path}: not a config file; expected an mmpose or '
            f'mmseg config ({", ".join(CONFIG_SUFFIXES)})'
        )
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, ImportError, KeyError, ValueError) as e:
        raise ConfigError(
            f'config {path}: mmengine cannot read it ({type(e).__name__}: '
            f'{e}); expected an mmpose or mmseg config file'
        ) from e
    if 'model' not in cfg:
        raise ConfigError(
            f'config {path}: has no model; expected an mmpose or mmseg '
            'config (one with model=dict(...))'
        )
    if options:
        cfg.merge_from_dict(options)
    return cfg


#: The head of each host's models: the task a state dict is for.
_HEADS = {'decode_head.': 'segmentation', 'head.': 'pose'}


def _task_of(keys: Sequence[str]) -> Optional[str]:
    """The task whose head the parameter names ``keys`` hold, if any."""
    for prefix, task in _HEADS.items():
        if any(k.startswith(prefix) for k in keys):
            return task
    return None


def check_checkpoint_task(
    model: nn.Module, state_dict: Dict[str, object], checkpoint: str
) -> None:
    """One clear error when ``checkpoint`` holds a model of the other task
    (a segmentation model's weights for a pose config, or the reverse),
    which mmengine would report as lists of missing and unexpected
    keys."""
    ours = _task_of(list(model.state_dict()))
    theirs = _task_of([k for k in state_dict if isinstance(k, str)])
    if ours and theirs and ours != theirs:
        found = [p for p, t in _HEADS.items() if t == theirs][0]
        raise CheckpointError(
            f'checkpoint {checkpoint}: holds a {theirs} model ({found}* '
            f'weights) but the config builds a {ours} model; expected a '
            f'checkpoint trained with a {ours} config'
        )


def _state_dict_of(checkpoint: str) -> Dict[str, object]:
    from mmengine.runner import CheckpointLoader

    try:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, 'cpu')
    except (LiteHRNetError, OSError):
        raise
    except Exception as e:
        # The file at fault (empty, truncated, refused: the package's
        # loader names it in the message): as the tools' input error.
        path = os.path.expanduser(checkpoint)
        if not os.path.isfile(path) or why_unloadable(path, e) is None:
            raise
        raise CheckpointError(str(e)) from e
    if isinstance(loaded, dict) and 'state_dict' in loaded:
        loaded = loaded['state_dict']
    if not isinstance(loaded, dict):
        raise CheckpointError(
            f'checkpoint {checkpoint}: holds a {type(loaded).__name__}; '
            'expected a state dict or a dict with one under "state_dict"'
        )
    return unwrapped_names(loaded)


def unwrapped_names(state_dict: dict) -> dict:
    """``state_dict`` with a wrapped model's ``module.`` taken off its
    names, as mmengine's ``load_checkpoint`` does (the same dict when no
    name has it; its ``_metadata`` kept)."""
    if not any(str(k).startswith('module.') for k in state_dict):
        return state_dict
    metadata = getattr(state_dict, '_metadata', None)
    unwrapped = OrderedDict(
        (k[len('module.') :] if k.startswith('module.') else k, v)
        for k, v in state_dict.items()
    )
    if metadata is not None:
        unwrapped._metadata = metadata
    return unwrapped


def scope_of(cfg) -> str:
    """The host of a config: ``'mmpose'`` or ``'mmseg'`` (its
    ``default_scope``, else told by the model's type).

    Raises:
        ConfigError: the config is another host's (``default_scope``
            mmdet, mmpretrain, ...).
    """
    scope = cfg.get('default_scope')
    if scope in ('mmpose', 'mmseg'):
        return scope
    if scope is not None:
        filename = getattr(cfg, 'filename', None)
        where = f'config {filename}' if filename else 'the config'
        raise ConfigError(
            f'{where}: default_scope={scope!r}; expected an mmpose or mmseg '
            "config (default_scope='mmpose' or 'mmseg')"
        )
    model_type = str(cfg.model.get('type', ''))
    if model_type in ('EncoderDecoder', 'CascadeEncoderDecoder'):
        return 'mmseg'
    return 'mmpose'


def build_from_config(config, checkpoint: Optional[str] = None) -> HostModel:
    """Build the model of an mmpose or mmseg config (a path or an mmengine
    ``Config``) in eval mode, SyncBN turned into BN, optionally loading a
    checkpoint."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope

    cfg = load_config(config) if isinstance(config, str) else config
    scope = scope_of(cfg)
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpose.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is not None:
        # The checkpoint replaces any pretrained backbone weights.
        model_cfg.get('backbone', {}).pop('init_cfg', None)
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    if checkpoint is not None:
        from mmengine.runner import load_state_dict

        state_dict = _state_dict_of(checkpoint)
        check_checkpoint_task(model, state_dict, checkpoint)
        check_checkpoint_shapes(model, state_dict, checkpoint)
        load_state_dict(model, state_dict, strict=True)
    return HostModel(model, 'seg' if scope == 'mmseg' else 'pose').eval()


def check_checkpoint_shapes(
    model: nn.Module, state_dict: Dict[str, torch.Tensor], checkpoint: str
) -> None:
    """One :class:`CheckpointError` for entries of another shape than the
    config's model (a head trained for another number of keypoints or
    classes), where torch's strict load lists every size mismatch in a
    traceback. The backbone's entries (a LiteHRNet's) go to its own check,
    which names the preset that a checkpoint of another one fits, before
    anything is loaded: in a load it only warns of entries of other shapes
    (a preset of the same layers in other widths: naive-18 in a
    wider-naive-18), which then failed as missing keys, again in a
    traceback of every one."""
    own = model.state_dict()
    wrong = [
        (key, tuple(value.shape), tuple(own[key].shape))
        for key, value in state_dict.items()
        if key in own
        and not key.startswith('backbone.')
        and hasattr(value, 'shape')
        and tuple(value.shape) != tuple(own[key].shape)
    ]
    if not wrong:
        _check_backbone_entries(model, state_dict, checkpoint)
        return
    key, theirs, ours = wrong[0]
    raise CheckpointError(
        f'checkpoint {checkpoint} does not fit the config: {len(wrong)} '
        f'entries of another shape, e.g. {key} {theirs} in the checkpoint, '
        f"{ours} in the config's model (a head for another number of "
        'keypoints or classes?); expected the checkpoint of this config, '
        'or the config it was trained with'
    )


def _check_backbone_entries(
    model: nn.Module, state_dict: Dict[str, torch.Tensor], checkpoint: str
) -> None:
    from litehrnet_mm.models.backbones.state_dict_check import (
        checked_for_load,
    )

    backbone = getattr(model, 'backbone', None)
    if not isinstance(backbone, LiteHRNet):
        return
    prefix = 'backbone.'
    entries = {
        key[len(prefix) :]: value
        for key, value in state_dict.items()
        if key.startswith(prefix)
    }
    if not entries:
        return
    try:
        checked_for_load(backbone, entries, strict=True)
    except CheckpointError as e:
        # Its advice on strict=False is for LiteHRNet.load_state_dict.
        why = str(e).split(' With strict=False')[0].rstrip('.')
        raise CheckpointError(
            f'checkpoint {checkpoint}: {why}; expected the checkpoint of '
            'this config, or the config it was trained with'
        ) from None


def default_shape(config) -> Tuple[int, int]:
    """(H, W) of a config's input: the codec's input size (pose), the crop
    size (seg), else 256x192."""
    cfg = load_config(config) if isinstance(config, str) else config
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
    """``--shape H W`` (one value: a square) as ``(H, W)``."""
    if value is None:
        return None
    value = [int(v) for v in value]
    if len(value) not in (1, 2) or min(value) < 1:
        raise ValueError(
            f'--shape {" ".join(str(v) for v in value)}; expected H W (or one '
            'size for a square), ints >= 1'
        )
    if len(value) == 1:
        return value[0], value[0]
    return value[0], value[1]
