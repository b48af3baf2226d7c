"""Official Lite-HRNet checkpoints (mmpose 0.x) to the mmpose 1.x layout.

The official checkpoints hold ``backbone.*`` and ``keypoint_head.*``
(``TopdownHeatmapSimpleHead``: ``final_layer`` and, when it has any,
``deconv_layers``). mmpose 1.x's ``HeatmapHead``, which our pose configs
use, names the same layers ``head.*``. The backbone keys are the official
ones in our ``LiteHRNet`` too, so they are kept as they are.
"""

import os
from collections import OrderedDict
from typing import Any, Dict, Mapping

import torch

from ..checkpoint import load_file
from ..errors import CheckpointError
from ..utils.paths import make_folder, require_file

RENAMES = (('keypoint_head.', 'head.'),)


def convert_official_state_dict(
    state_dict: Mapping[str, torch.Tensor],
) -> 'OrderedDict[str, torch.Tensor]':
    """Rename the keys of an official state dict (``module.`` prefixes of
    data-parallel checkpoints are dropped).

    Raises:
        CheckpointError: a key outside ``backbone.*`` and ``keypoint_head.*``
            (not an official top-down Lite-HRNet checkpoint), or no
            backbone key at all.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('module.'):
            key = key[len('module.') :]
        if key.startswith('backbone.'):
            new = key
        else:
            for old, repl in RENAMES:
                if key.startswith(old):
                    new = repl + key[len(old) :]
                    break
            else:
                already = (
                    " (head.* is mmpose 1.x's layout: this checkpoint needs "
                    'no conversion; load it as it is)'
                    if key.startswith('head.')
                    else ''
                )
                raise CheckpointError(
                    f'convert: unexpected key {key!r}{already}; expected an '
                    'official Lite-HRNet checkpoint with backbone.* and '
                    'keypoint_head.* keys'
                )
        out[new] = value
    if not any(k.startswith('backbone.') for k in out):
        raise CheckpointError(
            'convert: no backbone.* key; expected an official Lite-HRNet '
            'checkpoint'
        )
    return out


def convert_official_checkpoint(src: str, dst: str) -> Dict[str, Any]:
    """Read ``src``, write ``dst`` as ``{'state_dict': ..., 'meta': ...}``
    (what mmengine's ``load_checkpoint`` and ``load_from`` read); returns
    the converted checkpoint."""
    import litehrnet_mm  # noqa: F401  (allowlists mmengine checkpoint types)

    require_file(src, 'checkpoint')
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise CheckpointError(
            f'convert: {dst} is the checkpoint it reads; expected another '
            'DST (the official file stays as it is)'
        )
    make_folder(
        os.path.dirname(os.path.abspath(dst)),
        'convert: DST folder',
        CheckpointError,
    )
    ckpt = load_file(src, CheckpointError, 'checkpoint', weights_only=True)
    state_dict = (
        ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    )
    if not isinstance(state_dict, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state_dict.values()
    ):
        raise CheckpointError(
            f'convert: {src} holds no state dict of tensors; expected an '
            'official Lite-HRNet checkpoint'
        )
    converted = dict(
        state_dict=convert_official_state_dict(state_dict),
        meta=dict(converted_from=str(src), layout='mmpose 1.x'),
    )
    torch.save(converted, dst)
    return converted
