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

  - a whole model's checkpoint of the other task (a pose model's, with
    ``head.*``, into a segmentation model, or one with ``decode_head.*``
    into a pose model): a :class:`~litehrnet_mm.errors.CheckpointError`
    whatever ``strict`` says, told by the keys that the model around the
    backbone, loaded before it, found unexpected (its own head would stay
    untrained: ``mim test`` scored it, the inferencers drew it);
  - a checkpoint of the deploy form (BN folded) into the training form: a
    :class:`~litehrnet_mm.errors.CheckpointError` whatever ``strict``
    says (the forms share 3 names, so strict=False would load 3 tensors);
  - no tensor of ours under the prefix, but other tensors there (another
    network's weights: HRNet's ``stage2``, ResNet's ``conv1``), or where
    the backbone itself is loaded (prefix ``''``: its ``load_state_dict``,
    ``Pretrained`` without ``prefix``, mmseg's ``pretrained``): nothing
    would load, and the backbone would train from random weights after a
    warning: a :class:`~litehrnet_mm.errors.CheckpointError`, naming the
    prefix to use when the state dict holds a Lite-HRNet under one.
    Where the backbone itself is loaded, the same for weights in an entry
    mmengine does not read (``{'model': state_dict}``; a model's hooks see
    only the entries under their prefix, so a whole model's load cannot
    tell). Nothing at all under the prefix (a checkpoint for the rest of a
    model, say its head alone): nothing to say; torch and mmengine report
    the missing keys;
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
  any mismatch (an entry that is no Lite-HRNet layer's too) is a
  :class:`~litehrnet_mm.errors.CheckpointError` before anything is loaded;
  with ``strict=False`` what fits is loaded and one warning names the rest
  (shapes, missing and unexpected keys).

The file a state dict came from is named when
:func:`litehrnet_mm.checkpoint.load_from_local` read it: it records the
path in the state dict's ``_metadata``, which torch and mmengine hand to
each module's pre-hooks.
"""

import copy
import functools
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from litehrnet_mm.errors import CheckpointError

from .arch import ARCH_ZOO

__all__ = ['check_state_dict_fits', 'checked_for_load', 'litehrnet_prefix']

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
    # Entries that are no Lite-HRNet layer's (``other=True`` of _fit).
    others: List[str] = field(default_factory=list)

    @property
    def ours(self) -> bool:
        """Whether any tensor is one of the backbone's."""
        return bool(self.own.keys() & self.theirs.keys())

    @property
    def exact(self) -> bool:
        return not (
            self.wrong or self.missing or self.unexpected or self.others
        )

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
            ('unexpected', self.unexpected + self.others),
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


def _fit(
    model: torch.nn.Module, state_dict: dict, prefix: str, others=False
) -> _Fit:
    """How the tensors under ``prefix`` fit ``model``; ``others``: list
    the entries that are no Lite-HRNet layer's too (when the whole state
    dict is the backbone's: its own ``load_state_dict``)."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {
        k[len(prefix) :]: tuple(v.shape)
        for k, v in state_dict.items()
        if isinstance(k, str)
        and k.startswith(prefix)
        and hasattr(v, 'shape')
        and _LAYER.match(k[len(prefix) :])
    }
    foreign = [
        str(k)
        for k in state_dict
        if others and not (isinstance(k, str) and _LAYER.match(k))
    ]
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
        others=foreign,
    )


def _source(state_dict: dict, local_metadata: Optional[dict]) -> str:
    """``'checkpoint <file>'`` when the package's loader read it, else
    ``'the state dict'``."""
    if local_metadata is None:
        metadata = getattr(state_dict, '_metadata', None) or {}
        local_metadata = metadata.get('', {})
    path = local_metadata.get(_SOURCE_KEY)
    return 'the state dict' if path is None else f'checkpoint {path}'


def _describe(model: torch.nn.Module) -> str:
    arch = getattr(model, 'arch', None)
    return f'arch={arch!r}' if arch else 'custom extra'


def _name(model: torch.nn.Module) -> str:
    """``LiteHRNet (arch='18')``: the model as the messages name it."""
    return f'{type(model).__name__} ({_describe(model)})'


def _drop_pruned(
    model: torch.nn.Module, state_dict: dict, fit: _Fit, source: str
) -> None:
    if not fit.pruned:
        return
    for k in fit.pruned:
        del state_dict[fit.prefix + k]
    print_log(
        f'LiteHRNet: {source}: left out {len(fit.pruned)} '
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
        f'{source} does not fit this {_name(model)}: its tensors under '
        f'{fit.prefix!r}: {fit.problems()}.{hint}'
    )


# The stem's first conv in every Lite-HRNet state dict (ours, mmpose's
# port and the official one share the names), in the training form and in
# the deploy form (BN folded), and the starts of the first transition and
# stage, which both forms have.
_STEMS = ('stem.conv1.conv.weight', 'stem.conv1.0.weight')
_FIRST_LAYERS = ('transition0.', 'stage0.0.')


def litehrnet_prefix(state_dict: Any) -> Optional[str]:
    """The prefix under which ``state_dict`` holds a Lite-HRNet backbone
    (in its training or deploy form): ``''`` for a bare one,
    ``'backbone.'`` in a whole model's; None when it holds none."""
    if not isinstance(state_dict, dict):
        return None
    keys = [k for k in state_dict if isinstance(k, str)]
    for key in keys:
        stem = next((s for s in _STEMS if key.endswith(s)), None)
        if stem is None:
            continue
        prefix = key[: -len(stem)]
        if prefix and not prefix.endswith('.'):
            continue
        if all(
            any(k.startswith(prefix + o) for k in keys) for o in _FIRST_LAYERS
        ):
            return prefix
    return None


def _deployed_names(model: torch.nn.Module) -> frozenset:
    """The state-dict names of ``model`` in its deploy form."""
    if getattr(model, 'deployed', False):
        return frozenset(model.state_dict())
    deployed = copy.deepcopy(model).eval()
    deployed.switch_to_deploy()
    return frozenset(deployed.state_dict())


def _refuse_deploy_form(
    model: torch.nn.Module, fit: _Fit, source: str
) -> None:
    """A checkpoint of the deploy form (BN folded), which the training
    form shares 3 names with, into the training form: one error, whatever
    ``strict`` says (with strict=False 3 tensors would load)."""
    if fit.exact or len(fit.unexpected) <= len(fit.theirs) // 2:
        return
    if getattr(model, 'deployed', False):
        return
    if not fit.theirs.keys() <= _deployed_names(model):
        return
    raise CheckpointError(
        f'{source} holds the deploy form of a Lite-HRNet (BN folded into '
        f'the convs, e.g. {fit.prefix}stem.conv1.0.weight), as '
        'switch_to_deploy() leaves the backbone, but this '
        f'{_name(model)} is in its training form, which mim train, mim '
        'test and the inferencers build and load (deploy=True switches '
        'after loading): use a checkpoint saved before the switch; in '
        'Python, call switch_to_deploy() before loading this one.'
    )


#: The head of each host's models, by the task it serves.
_HOST_HEADS = {'decode_head.': 'segmentation', 'head.': 'pose'}


def _refuse_other_task(
    model: torch.nn.Module,
    prefix: str,
    unexpected_keys: Sequence[str],
    source: str,
) -> None:
    """A whole model's checkpoint of the other task (a pose model's into a
    segmentation model, or the reverse): the model around the backbone,
    loaded before it, found the other head's entries unexpected, so its
    own head would stay at its random initialisation, and ``mim test`` or
    an inferencer gave numbers and pictures of an untrained head after a
    warning (or mmpose failed on the segmentation classes in the
    checkpoint's meta)."""
    if not prefix.endswith('.'):
        return  # the backbone itself is loaded: no model around it
    parent = prefix[: prefix[:-1].rfind('.') + 1]
    for head, task in _HOST_HEADS.items():
        found = [k for k in unexpected_keys if k.startswith(parent + head)]
        if found:
            raise CheckpointError(
                f'{source} holds a {task} model ({parent}{head}* weights, '
                f'e.g. {found[0]}), but the model around this '
                f'{_name(model)} has no {parent}{head[:-1]} (a model of '
                'another task), so its own head would stay untrained; '
                "expected a checkpoint trained with this model's config. To "
                'start from its backbone alone: '
                "init_cfg=dict(type='Pretrained', checkpoint=..., "
                f'prefix={prefix!r}) on the backbone'
            )


def _refuse_foreign(
    model: torch.nn.Module, state_dict: dict, prefix: str, source: str
) -> None:
    """Tensors under the backbone's prefix of which none is one of this
    backbone's (another network's weights: HRNet's ``stage2``, ResNet's
    ``conv1``, ...): nothing would load, and the backbone would train from
    its random initialisation. Nothing under the prefix (a checkpoint for
    the rest of the model) is torch's and mmengine's to report."""
    under = [
        k
        for k, v in state_dict.items()
        if isinstance(k, str) and k.startswith(prefix) and hasattr(v, 'shape')
    ]
    if not under:
        return
    raise CheckpointError(
        f'{source} does not fit this {_name(model)}: none of its '
        f"{len(under)} tensors under {prefix!r} is one of a Lite-HRNet's "
        f'(e.g. {", ".join(under[:3])}), so nothing would load; expected a '
        f'Lite-HRNet checkpoint (names such as {prefix}stem.conv1.conv.weight)'
    )


def _refuse_nested_weights(state_dict: dict, source: str) -> None:
    """A checkpoint whose weights sit in an entry mmengine does not read
    (``{'model': state_dict}``, ``{'net': ...}``): mmengine takes
    ``checkpoint['state_dict']``, else the whole dict, so it loads nothing
    of them."""
    for key, value in state_dict.items():
        if litehrnet_prefix(value) is not None:
            raise CheckpointError(
                f'{source} holds its Lite-HRNet weights in the entry '
                f'{key!r}, which mmengine does not read (it loads '
                "checkpoint['state_dict'], else the checkpoint itself), so "
                "nothing would load; expected them under 'state_dict': "
                f"torch.save({{'state_dict': checkpoint[{key!r}]}}, path)"
            )


def _refuse_nothing_to_load(
    model: torch.nn.Module, state_dict: dict, source: str
) -> None:
    """A state dict loaded into the backbone itself (its
    ``load_state_dict``, mmengine's ``Pretrained`` init without a prefix,
    mmseg's ``pretrained``) with none of its tensors: nothing would load,
    and the backbone would train from its random initialisation with a
    warning at most."""
    where = litehrnet_prefix(state_dict)
    if where:
        raise CheckpointError(
            f'{source} holds a Lite-HRNet under {where!r} (a whole '
            f"model's state dict), loaded into this {_name(model)} "
            'itself, where its names are without the prefix: nothing '
            'would load. For the backbone of a whole-model checkpoint use '
            f"init_cfg=dict(type='Pretrained', checkpoint=..., "
            f"prefix={where!r}) (model.pretrained takes a backbone's "
            'checkpoint only); load_from loads a whole model; in Python, '
            'strip the prefix first.'
        )
    keys = [str(k) for k in state_dict]
    held = (
        f'{len(keys)} entries, e.g. {", ".join(keys[:3])}'
        if keys
        else 'no entries'
    )
    raise CheckpointError(
        f'{source} holds no tensor of this {_name(model)} ({held}), so '
        'nothing would load; expected a Lite-HRNet state dict (names such '
        "as stem.conv1.conv.weight), or a whole model's with "
        "init_cfg=dict(type='Pretrained', checkpoint=..., "
        "prefix='backbone.')"
    )


def check_state_dict_fits(
    model: torch.nn.Module,
    state_dict: dict,
    prefix: str,
    local_metadata: dict,
    strict: bool = True,
    missing_keys: Sequence[str] = (),
    unexpected_keys: Sequence[str] = (),
    *_,
) -> None:
    """The load_state_dict pre-hook of the backbone (rules in the module
    docstring; ``strict`` is unused: torch passes True whatever its caller
    said; ``unexpected_keys`` holds those the enclosing modules found so
    far).

    Raises:
        CheckpointError: the checkpoint holds another preset, or a model of
            the other task; the message names the file (when read by
            :func:`litehrnet_mm.checkpoint.load_from_local`), the keys and
            the preset.
    """
    source = _source(state_dict, local_metadata)
    _refuse_other_task(model, prefix, unexpected_keys, source)
    fit = _fit(model, state_dict, prefix)
    _refuse_deploy_form(model, fit, source)
    if not fit.ours:
        if not prefix:
            _refuse_nested_weights(state_dict, source)
            _refuse_nothing_to_load(model, state_dict, source)
        _refuse_foreign(model, state_dict, prefix, source)
        return
    _drop_pruned(model, state_dict, fit, source)
    if fit.exact:
        return
    _refuse_another_preset(model, fit, source)
    if not fit.wrong:
        return  # missing and unexpected keys: torch's and mmengine's rules
    for k in fit.wrong:
        del state_dict[prefix + k]
    warnings.warn(
        f'{source} does not fit this {_name(model)}: its tensors under '
        f'{prefix!r}: {len(fit.wrong)} with other shapes ('
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
    fit = _fit(model, state_dict, '', others=True)
    if not fit.ours or fit.exact:
        return state_dict  # none of ours: the pre-hook's rules
    source = _source(state_dict, None)
    _refuse_deploy_form(model, fit, source)
    _refuse_another_preset(model, fit, source)
    if strict:
        raise CheckpointError(
            f'{source} does not fit this {_name(model)}: its tensors: '
            f'{fit.problems()}. With '
            'strict=False what fits is loaded and the rest named in a '
            'warning.'
        )
    warnings.warn(
        f'{source} loaded partly into this {_name(model)}, '
        'strict=False: its '
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
