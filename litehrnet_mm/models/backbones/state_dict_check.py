"""Does a state dict fit the backbone? The load pre-hook of LiteHRNet.

:func:`check_state_dict_fits` runs before a :class:`LiteHRNet` loads a
state dict (``load_state_dict``, mmengine's ``load_checkpoint``,
``load_from``, ``init_cfg=dict(type='Pretrained')``). It compares the
tensors under the backbone's prefix with the backbone's own, by name and
shape, and applies these rules:

* No tensor of ours under the prefix (another model's weights, a wrong
  prefix): nothing to say; torch and mmengine report the missing keys as
  they always do.
* Every tensor fits: the load goes on.
* The checkpoint holds exactly the layers of another preset (another
  ``arch``, or ``with_head`` the other way; in practice a wrong config):
  :class:`~litehrnet_mm.errors.CheckpointError`, whatever ``strict`` says,
  naming the preset it fits. Loading it partly would leave half a network
  at its random initialisation without a word.
* Anything else with ``strict=True``: the same error, naming the keys.
* Anything else with ``strict=False`` (mmengine's default, and the usual
  path of partial fine-tuning: an RGB checkpoint into ``in_channels=4``,
  another stem or channel width): what fits is loaded; the entries whose
  shapes differ are left out of the load (torch would otherwise stop at a
  size mismatch) and one warning names them and any missing or unexpected
  keys, which keep their initial values.

torch (up to 2.14 at least, pytorch/pytorch#156177) and mmengine call load
pre-hooks with ``strict=True`` whatever their caller passed, and apply
``strict`` only after loading; the caller's value is read from the
``load_state_dict`` frame that runs the load.
"""

import functools
import re
import sys
import warnings
from typing import Dict, Optional, Tuple

import torch

from litehrnet_mm.errors import CheckpointError

from .arch import ARCH_ZOO

__all__ = ['check_state_dict_fits']

# Where litehrnet_mm.checkpoint.load_from_local records the file a
# state dict came from: in every entry of the state dict's ``_metadata``
# (one per module, which torch and mmengine carry through key renaming and
# copies and hand to each module's load_state_dict pre-hooks), so that a
# state dict that does not fit the model is reported with its file.
_SOURCE_KEY = 'litehrnet_mm.source'

# The top-level layers of every Lite-HRNet, built or not in this one (a
# checkpoint with the iterative head, loaded into a backbone without it,
# is another architecture, not an unrelated key).
_LAYER = re.compile(r'(stem|head_layer|transition\d+|stage\d+)\.')

Shapes = Dict[str, Tuple[int, ...]]


def check_state_dict_fits(
    model: torch.nn.Module,
    state_dict: dict,
    prefix: str,
    local_metadata: dict,
    strict: bool,
    *_,
) -> None:
    """The load_state_dict pre-hook of the backbone (rules in the module
    docstring; the trailing hook arguments are unused).

    Raises:
        CheckpointError: naming the file (when read by
            :func:`litehrnet_mm.checkpoint.load_from_local`), the
            keys, and the preset the checkpoint fits, if any.
    """
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {
        k[len(prefix) :]: tuple(v.shape)
        for k, v in state_dict.items()
        if k.startswith(prefix)
        and hasattr(v, 'shape')
        and _LAYER.match(k[len(prefix) :])
    }
    if not own.keys() & theirs.keys() or own == theirs:
        return
    source = local_metadata.get(_SOURCE_KEY, 'the state dict')
    wrong = [k for k in own if k in theirs and theirs[k] != own[k]]
    problems = _problems(own, theirs, wrong, prefix)
    other = _other_preset(model, own, theirs)
    if other is not None or _caller_strict(strict):
        if other is not None:
            arch, with_head, exact = other
            hint = (
                f' It fits arch={arch!r}, with_head={with_head}: build the '
                'backbone with that.'
                if exact
                else f' It has the layers of arch={arch!r}, '
                f'with_head={with_head}, some with other shapes.'
            )
        else:
            hint = (
                ' With strict=False what fits is loaded and the rest named '
                'in a warning.'
            )
        raise CheckpointError(
            f'checkpoint {source} does not fit this {type(model).__name__} '
            f'({_describe(model)}): its tensors under {prefix!r}: '
            f'{problems}.{hint}'
        )
    for k in wrong:
        del state_dict[prefix + k]
    warnings.warn(
        f'checkpoint {source} loaded partly into this '
        f'{type(model).__name__} ({_describe(model)}), strict=False: its '
        f"tensors under {prefix!r}: {problems}. The model's tensors among "
        'them keep their initial values.',
        stacklevel=2,
    )


def _problems(own: Shapes, theirs: Shapes, wrong: list, prefix: str) -> str:
    problems = []
    if wrong:
        problems.append(
            f'{len(wrong)} with other shapes ('
            + '; '.join(
                f'{prefix}{k}: checkpoint {theirs[k]} vs model {own[k]}'
                for k in wrong[:3]
            )
            + ('; ...' if len(wrong) > 3 else '')
            + ')'
        )
    for what, keys in (
        ('missing', [k for k in own if k not in theirs]),
        ('unexpected', [k for k in theirs if k not in own]),
    ):
        if keys:
            problems.append(
                f'{len(keys)} {what} ('
                + ', '.join(prefix + k for k in keys[:3])
                + (', ...' if len(keys) > 3 else '')
                + ')'
            )
    return '; '.join(problems)


def _caller_strict(default: bool) -> bool:
    """The ``strict`` given to the ``load_state_dict`` (torch's method or
    mmengine's function) that runs this load; ``default`` when none does
    (a direct ``_load_from_state_dict`` call)."""
    frame = sys._getframe(1)
    while frame is not None:
        if (
            frame.f_code.co_name == 'load_state_dict'
            and 'strict' in frame.f_locals
        ):
            return bool(frame.f_locals['strict'])
        frame = frame.f_back
    return default


def _describe(model: torch.nn.Module) -> str:
    arch = getattr(model, 'arch', None)
    return f'arch={arch!r}' if arch else 'custom extra'


@functools.cache
def _preset_shapes(cls: type, arch: str, with_head: bool) -> Shapes:
    # Building draws initial weights: leave the caller's random stream as
    # it was.
    with torch.random.fork_rng(devices=[]):
        model = cls(arch=arch, with_head=with_head, init_cfg=None)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _other_preset(
    model: torch.nn.Module, own: Shapes, theirs: Shapes
) -> Optional[Tuple[str, bool, bool]]:
    """``(arch, with_head, exact)`` of the preset other than ``model``'s
    whose layers (key names) ``theirs`` has, when they are not the layers
    of ``own``; an exact fit (names and shapes) first."""
    candidates = [
        (arch, with_head, _preset_shapes(type(model), arch, with_head))
        for arch in ARCH_ZOO
        for with_head in (True, False)
        if (arch, with_head) != (model.arch, model.with_head)
    ]
    for exact in (True, False):
        for arch, with_head, shapes in candidates:
            if shapes.keys() == own.keys():
                continue
            if shapes == theirs or (
                not exact and shapes.keys() == theirs.keys()
            ):
                return arch, with_head, exact
    return None
