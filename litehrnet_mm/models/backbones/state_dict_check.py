"""Does a state dict fit the backbone? Checked before LiteHRNet loads one.

The tensors under the backbone's prefix are compared with the backbone's
own, by name and shape. Two places check, because only one of them knows
the caller's ``strict``:

* :func:`check_state_dict_fits`, the backbone's load pre-hook, runs for
  every load (``load_state_dict`` of any model holding the backbone,
  mmengine's ``load_checkpoint``, ``load_from``,
  ``init_cfg=dict(type='Pretrained')``). torch and mmengine call it with
  ``strict=True`` whatever their caller passed (pytorch/pytorch#156177) and
  apply ``strict`` themselves after loading, so it checks only what their
  own rules do not cover, the same way for either ``strict``:

  - no tensor of ours under the prefix (another model's weights, a wrong
    prefix): nothing to say; torch and mmengine report the missing keys;
  - entries of layers this backbone does not build (``out_indices`` reads
    none of their outputs, see ``LiteHRNet.unread_layers``): left
    out, with a note in the log;
  - exactly the layers of another preset (another ``arch``, or
    ``with_head`` the other way; in practice a wrong config): a
    :class:`~litehrnet_mm.errors.CheckpointError` naming the preset it
    fits, whatever ``strict`` says: loading it partly would leave half a
    network at its random initialisation;
  - entries whose shapes differ (an RGB checkpoint into ``in_channels=4``,
    another width): left out of the load, which torch would otherwise stop
    at, with one warning naming them. torch and mmengine then report them
    as missing keys by their own ``strict``: with ``strict=True`` the load
    fails, with ``strict=False`` (mmengine's default, the usual path of
    partial fine-tuning) the rest is loaded and those tensors keep their
    initial values.

* :func:`checked_for_load` runs in ``LiteHRNet.load_state_dict``, where the
  backbone itself is loaded and ``strict`` is known: with ``strict=True``
  any mismatch is a :class:`~litehrnet_mm.errors.CheckpointError` before
  anything is loaded; with ``strict=False`` what fits is loaded and one
  warning names the rest (shapes, missing and unexpected keys).

The file a state dict came from is named when
:func:`litehrnet_mm.checkpoint.load_from_local` read it: it records the
path in the state dict's ``_metadata``, which torch and mmengine hand to
each module's pre-hooks.
"""

import functools
import re
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log

from litehrnet_mm.errors import CheckpointError

from .arch import ARCH_ZOO

__all__ = ['check_state_dict_fits', 'checked_for_load']

# Where litehrnet_mm.checkpoint.load_from_local records the file a
# state dict came from, in every entry of the state dict's ``_metadata``.
_SOURCE_KEY = 'litehrnet_mm.source'

# The top-level layers of every Lite-HRNet, built or not in this one (a
# checkpoint with the iterative head, loaded into a backbone without it,
# is another architecture, not an unrelated key).
_LAYER = re.compile(r'(stem|head_layer|transition\d+|stage\d+)\.')

Shapes = Dict[str, Tuple[int, ...]]


@dataclass
class _Fit:
    """How the tensors under ``prefix`` (``theirs``) fit ``own``."""

    own: Shapes
    theirs: Shapes
    prefix: str
    pruned: List[str]  # theirs, of layers the backbone does not build
    wrong: List[str]  # in both, other shapes
    missing: List[str]
    unexpected: List[str]

    @property
    def ours(self) -> bool:
        """Whether any tensor is one of the backbone's."""
        return bool(self.own.keys() & self.theirs.keys())

    @property
    def exact(self) -> bool:
        return not (self.wrong or self.missing or self.unexpected)

    def problems(self) -> str:
        parts = []
        if self.wrong:
            parts.append(
                f'{len(self.wrong)} with other shapes ('
                + '; '.join(
                    f'{self.prefix}{k}: checkpoint {self.theirs[k]} vs '
                    f'model {self.own[k]}'
                    for k in self.wrong[:3]
                )
                + ('; ...' if len(self.wrong) > 3 else '')
                + ')'
            )
        for what, keys in (
            ('missing', self.missing),
            ('unexpected', self.unexpected),
        ):
            if keys:
                parts.append(
                    f'{len(keys)} {what} ('
                    + ', '.join(self.prefix + k for k in _examples(keys))
                    + (', ...' if len(keys) > 3 else '')
                    + ')'
                )
        return '; '.join(parts)


def _examples(keys: List[str], n: int = 3) -> List[str]:
    """``n`` of ``keys``, one of each top-level layer first, so that the
    layers concerned are named (``stage2``, ``head_layer``)."""
    firsts, seen = [], set()
    for k in keys:
        top = k.split('.')[0]
        if top not in seen:
            seen.add(top)
            firsts.append(k)
    return (firsts + [k for k in keys if k not in firsts])[:n]


def _fit(model: torch.nn.Module, state_dict: dict, prefix: str) -> _Fit:
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {
        k[len(prefix) :]: tuple(v.shape)
        for k, v in state_dict.items()
        if isinstance(k, str)
        and k.startswith(prefix)
        and hasattr(v, 'shape')
        and _LAYER.match(k[len(prefix) :])
    }
    pruned_layers = getattr(model, 'pruned_layers', {})
    return _Fit(
        own=own,
        theirs=theirs,
        prefix=prefix,
        pruned=[k for k in theirs if k in pruned_layers],
        wrong=[k for k in own if k in theirs and theirs[k] != own[k]],
        missing=[k for k in own if k not in theirs],
        unexpected=[
            k for k in theirs if k not in own and k not in pruned_layers
        ],
    )


def _source(state_dict: dict, local_metadata: Optional[dict]) -> str:
    if local_metadata is None:
        metadata = getattr(state_dict, '_metadata', None) or {}
        local_metadata = metadata.get('', {})
    return local_metadata.get(_SOURCE_KEY, 'the state dict')


def _describe(model: torch.nn.Module) -> str:
    arch = getattr(model, 'arch', None)
    return f'arch={arch!r}' if arch else 'custom extra'


def _drop_pruned(
    model: torch.nn.Module, state_dict: dict, fit: _Fit, source: str
) -> None:
    if not fit.pruned:
        return
    for k in fit.pruned:
        del state_dict[fit.prefix + k]
    print_log(
        f'LiteHRNet: checkpoint {source}: left out {len(fit.pruned)} '
        f'entries under {fit.prefix!r} of layers that this backbone does '
        f'not build, since out_indices={model.out_indices} reads none of '
        'their outputs (e.g. '
        + ', '.join(fit.prefix + k for k in fit.pruned[:3])
        + ')',
        logger='current',
    )


def _refuse_another_preset(
    model: torch.nn.Module, fit: _Fit, source: str
) -> None:
    other = _other_preset(model, fit)
    if other is None:
        return
    arch, with_head, exact = other
    hint = (
        f' It fits arch={arch!r}, with_head={with_head}: build the '
        'backbone with that.'
        if exact
        else f' It has the layers of arch={arch!r}, with_head={with_head}, '
        'some with other shapes.'
    )
    raise CheckpointError(
        f'checkpoint {source} does not fit this {type(model).__name__} '
        f'({_describe(model)}): its tensors under {fit.prefix!r}: '
        f'{fit.problems()}.{hint}'
    )


def check_state_dict_fits(
    model: torch.nn.Module,
    state_dict: dict,
    prefix: str,
    local_metadata: dict,
    *_,
) -> None:
    """The load_state_dict pre-hook of the backbone (rules in the module
    docstring; the trailing hook arguments, ``strict`` among them, are
    unused: torch passes True whatever its caller said).

    Raises:
        CheckpointError: the checkpoint holds another preset; the message
            names the file (when read by
            :func:`litehrnet_mm.checkpoint.load_from_local`), the keys and
            the preset.
    """
    fit = _fit(model, state_dict, prefix)
    if not fit.ours:
        return
    source = _source(state_dict, local_metadata)
    _drop_pruned(model, state_dict, fit, source)
    if fit.exact:
        return
    _refuse_another_preset(model, fit, source)
    if not fit.wrong:
        return  # missing and unexpected keys: torch's and mmengine's rules
    for k in fit.wrong:
        del state_dict[prefix + k]
    warnings.warn(
        f'checkpoint {source} does not fit this {type(model).__name__} '
        f'({_describe(model)}): its tensors under {prefix!r}: '
        f'{len(fit.wrong)} with other shapes ('
        + '; '.join(
            f'{prefix}{k}: checkpoint {fit.theirs[k]} vs model {fit.own[k]}'
            for k in fit.wrong[:3]
        )
        + ('; ...' if len(fit.wrong) > 3 else '')
        + '), left out of the load: with strict=True the load then fails '
        'on them as missing keys; with strict=False the rest is loaded '
        'partly and those tensors keep their initial values.',
        stacklevel=2,
    )


def checked_for_load(
    model: torch.nn.Module, state_dict: dict, strict: bool
) -> dict:
    """``state_dict`` as ``LiteHRNet.load_state_dict`` loads it, checked
    with the caller's ``strict`` (rules in the module docstring): the same
    dict, or, with ``strict=False`` and entries of other shapes, a copy
    without them.

    Raises:
        CheckpointError: another preset, or any mismatch with
            ``strict=True``, before anything is loaded.
    """
    fit = _fit(model, state_dict, '')
    if not fit.ours or fit.exact:
        return state_dict
    source = _source(state_dict, None)
    _refuse_another_preset(model, fit, source)
    if strict:
        raise CheckpointError(
            f'checkpoint {source} does not fit this {type(model).__name__} '
            f'({_describe(model)}): its tensors: {fit.problems()}. With '
            'strict=False what fits is loaded and the rest named in a '
            'warning.'
        )
    warnings.warn(
        f'checkpoint {source} loaded partly into this '
        f'{type(model).__name__} ({_describe(model)}), strict=False: its '
        f"tensors: {fit.problems()}. The model's tensors among them keep "
        'their initial values.',
        stacklevel=3,
    )
    if not fit.wrong:
        return state_dict
    kept = type(state_dict)(
        (k, v) for k, v in state_dict.items() if k not in fit.wrong
    )
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        kept._metadata = metadata
    return kept


@functools.cache
def _preset_layers(
    cls: type, arch: str, with_head: bool
) -> Tuple[Shapes, frozenset]:
    """Every state-dict entry of a preset (name: shape) and the names of
    those some ``out_indices`` leaves out: (0,) and (3,) between them leave
    out every layer that any choice does."""
    # Building draws initial weights: leave the caller's random stream as
    # it was.
    with torch.random.fork_rng(devices=[]):
        model = cls(
            arch=arch,
            with_head=with_head,
            out_indices=(0, 1, 2, 3),
            init_cfg=None,
        )
    prunable = {
        f'{name}.{key}'
        for out_indices in ((0,), (3,))
        for name, layer in model.unread_layers(out_indices).items()
        for key in layer.state_dict()
    }
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return shapes, frozenset(prunable)


def _has_layers_of(
    theirs: Shapes, shapes: Shapes, prunable: frozenset, exact: bool
) -> bool:
    """Whether ``theirs`` is a state dict of the preset (``shapes``), with
    or without the layers an ``out_indices`` leaves out; ``exact``: with
    the same shapes too."""
    if not theirs.keys() <= shapes.keys():
        return False
    if not shapes.keys() - prunable <= theirs.keys():
        return False
    return not exact or all(shapes[k] == v for k, v in theirs.items())


def _other_preset(
    model: torch.nn.Module, fit: _Fit
) -> Optional[Tuple[str, bool, bool]]:
    """``(arch, with_head, exact)`` of the preset other than ``model``'s
    whose layers (key names) the checkpoint has, when they are not the
    layers of ``model``; an exact fit (names and shapes) first. Both sides
    count every layer of the architecture, built or not."""
    own = {**fit.own, **getattr(model, 'pruned_layers', {})}
    candidates = [
        (arch, with_head, *_preset_layers(type(model), arch, with_head))
        for arch in ARCH_ZOO
        for with_head in (True, False)
        if (arch, with_head) != (model.arch, model.with_head)
    ]
    for exact in (True, False):
        for arch, with_head, shapes, prunable in candidates:
            if shapes.keys() == own.keys():
                continue
            if _has_layers_of(fit.theirs, shapes, prunable, exact):
                return arch, with_head, exact
    return None
