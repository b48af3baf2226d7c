"""Architecture presets of Lite-HRNet and the checks on a custom one.

An architecture is described by the official ``extra`` dict (the form the
official and mmpose configs use)::

    extra = dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=(2, 4, 2),         # LiteHRModules per stage
            num_branches=(2, 3, 4),        # one more branch per stage
            num_blocks=(2, 2, 2),          # blocks per branch per module
            module_type=('LITE', 'LITE', 'LITE'),   # or 'NAIVE'
            with_fuse=(True, True, True),
            reduce_ratios=(8, 8, 8),       # cross-resolution weighting
            num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
        with_head=True)                    # the iterative head

:func:`check_extra` refuses a bad one with a ``ValueError`` or ``TypeError``
that names the setting, the value and what is expected, before any layer is
built.
"""

import copy
from numbers import Real
from typing import Any, Dict, Optional, Sequence, Tuple

from ..blocks.lite_hr_module import MODULE_TYPES

#: Presets (Table 1 and Sec. 4 of the paper). All use the stem
#: (32, 32, expand 1), 2 blocks per branch, reduce ratio 8 and the
#: iterative head, as the official configs do.
ARCH_ZOO: Dict[str, Dict[str, Any]] = {
    '18': dict(
        num_modules=(2, 4, 2), module_type='LITE', channels=(40, 80, 160, 320)
    ),
    '30': dict(
        num_modules=(3, 8, 3), module_type='LITE', channels=(40, 80, 160, 320)
    ),
    'naive-18': dict(
        num_modules=(2, 4, 2), module_type='NAIVE', channels=(30, 60, 120, 240)
    ),
    'wider-naive-18': dict(
        num_modules=(2, 4, 2), module_type='NAIVE', channels=(40, 80, 160, 320)
    ),
}

STAGE_KEYS = (
    'num_modules',
    'num_branches',
    'num_blocks',
    'module_type',
    'with_fuse',
    'reduce_ratios',
    'num_channels',
)


def arch_to_extra(arch: str) -> Dict[str, Any]:
    """The official ``extra`` dict of a preset name."""
    if not isinstance(arch, str):
        raise TypeError(
            f'LiteHRNet: arch={arch!r} is a '
            f'{type(arch).__name__}; expected a preset name, one '
            f'of {sorted(ARCH_ZOO)}, or extra=dict(...)'
        )
    if arch not in ARCH_ZOO:
        raise ValueError(
            f'LiteHRNet: unknown arch={arch!r}; expected one '
            f'of {sorted(ARCH_ZOO)}, or extra=dict(...)'
        )
    preset = ARCH_ZOO[arch]
    channels = preset['channels']
    return dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=preset['num_modules'],
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            module_type=(preset['module_type'],) * 3,
            with_fuse=(True, True, True),
            reduce_ratios=(8, 8, 8),
            num_channels=tuple(channels[:n] for n in (2, 3, 4)),
        ),
        with_head=True,
    )


def split_arch(arch: Any, extra: Any) -> Tuple[Optional[str], Any]:
    """``(preset name or None, extra or None)`` from the backbone's first
    two arguments: a dict as the first one is ``extra``, as in the official
    code's and mmpose's ``LiteHRNet(extra, ...)``."""
    if isinstance(arch, dict):
        if extra is not None:
            raise TypeError(
                'LiteHRNet: an extra dict both as the first argument and as '
                'extra=; expected it once, LiteHRNet(extra) or '
                'LiteHRNet(extra=extra)'
            )
        return None, arch
    return (arch, None) if extra is None else (None, extra)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if not _is_int(value):
        raise TypeError(
            f'LiteHRNet: {name}={value!r} is a '
            f'{type(value).__name__}; expected an int'
        )
    if value < minimum:
        raise ValueError(
            f'LiteHRNet: {name}={value!r}; expected an int >= {minimum}'
        )


def _sequence(name: str, value: Any, length: int, what: str) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f'LiteHRNet: {name}={value!r} is a '
            f'{type(value).__name__}; expected a sequence of '
            f'{length} {what}'
        )
    if len(value) != length:
        raise ValueError(
            f'LiteHRNet: {name}={tuple(value)!r} has '
            f'{len(value)} entries; expected {length} {what}'
        )


def check_extra(extra: Any) -> Dict[str, Any]:
    """Validate an ``extra`` dict and return a normalised deep copy.

    Returns:
        dict: ``extra`` with tuples, upper-case module types and
        ``with_head`` filled in (False when absent).

    Raises:
        TypeError: a setting of the wrong type.
        ValueError: a setting with a wrong length or value.
    """
    if not isinstance(extra, dict):
        raise TypeError(
            f'LiteHRNet: extra is a {type(extra).__name__}; '
            'expected a dict with keys stem, num_stages, '
            'stages_spec (and optionally with_head)'
        )
    for key in ('stem', 'num_stages', 'stages_spec'):
        if key not in extra:
            raise ValueError(
                f'LiteHRNet: extra has no {key!r}; expected '
                'keys stem, num_stages, stages_spec'
            )
    extra = copy.deepcopy(dict(extra))

    stem = extra['stem']
    if not isinstance(stem, dict):
        raise TypeError(
            f"LiteHRNet: extra['stem']={stem!r}; expected "
            'dict(stem_channels=..., out_channels=..., '
            'expand_ratio=...)'
        )
    for key in ('stem_channels', 'out_channels', 'expand_ratio'):
        if key not in stem:
            raise ValueError(
                f"LiteHRNet: extra['stem'] has no {key!r}; "
                'expected stem_channels, out_channels and '
                'expand_ratio'
            )
    stem_channels, out_channels = stem['stem_channels'], stem['out_channels']
    _positive_int("extra['stem']['stem_channels']", stem_channels, 2)
    _positive_int("extra['stem']['out_channels']", out_channels, 2)
    if stem_channels % 2 or out_channels % 2:
        raise ValueError(
            f"LiteHRNet: extra['stem'] has stem_channels={stem_channels}, "
            f'out_channels={out_channels}; expected even numbers (the stem '
            'splits its channels in half and shuffles them in pairs)'
        )
    if out_channels < stem_channels:
        raise ValueError(
            f"LiteHRNet: extra['stem'] has out_channels={out_channels} < "
            f'stem_channels={stem_channels}; expected out_channels equal '
            'to or larger than stem_channels'
        )
    ratio = stem['expand_ratio']
    if isinstance(ratio, bool) or not isinstance(ratio, Real):
        raise TypeError(
            f"LiteHRNet: extra['stem']['expand_ratio']="
            f'{ratio!r}; expected a number'
        )
    if round(stem_channels * ratio) < 1:
        raise ValueError(
            f"LiteHRNet: extra['stem']['expand_ratio']="
            f'{ratio!r} leaves no hidden channel; expected '
            f'a ratio >= {1 / stem_channels:g}'
        )

    num_stages = extra['num_stages']
    _positive_int("extra['num_stages']", num_stages)

    spec = extra['stages_spec']
    if not isinstance(spec, dict):
        raise TypeError(
            f"LiteHRNet: extra['stages_spec'] is a "
            f'{type(spec).__name__}; expected a dict with keys '
            f'{", ".join(STAGE_KEYS)}'
        )
    for key in STAGE_KEYS:
        if key not in spec:
            raise ValueError(
                f"LiteHRNet: extra['stages_spec'] has no "
                f'{key!r}; expected keys {", ".join(STAGE_KEYS)}'
            )
        _sequence(
            f"extra['stages_spec']['{key}']",
            spec[key],
            num_stages,
            'entries, one per stage (num_stages)',
        )
        spec[key] = tuple(spec[key])

    spec['module_type'] = tuple(
        t.upper() if isinstance(t, str) else t for t in spec['module_type']
    )
    for i in range(num_stages):
        where = "extra['stages_spec']"
        _positive_int(f"{where}['num_modules'][{i}]", spec['num_modules'][i])
        _positive_int(f"{where}['num_blocks'][{i}]", spec['num_blocks'][i])
        branches = spec['num_branches'][i]
        if not _is_int(branches):
            raise TypeError(
                f"LiteHRNet: {where}['num_branches'][{i}]="
                f'{branches!r}; expected an int'
            )
        if branches != i + 2:
            raise ValueError(
                f"LiteHRNet: {where}['num_branches']="
                f'{spec["num_branches"]!r}; expected '
                f'{tuple(range(2, num_stages + 2))} (stage 1 has two '
                'branches and each stage adds one)'
            )
        module_type = spec['module_type'][i]
        if module_type not in MODULE_TYPES:
            raise ValueError(
                f"LiteHRNet: {where}['module_type'][{i}]={module_type!r}; "
                f'expected one of {MODULE_TYPES}'
            )
        if not isinstance(spec['with_fuse'][i], bool):
            raise TypeError(
                f"LiteHRNet: {where}['with_fuse'][{i}]="
                f'{spec["with_fuse"][i]!r}; expected a bool'
            )
        channels = spec['num_channels'][i]
        _sequence(
            f"{where}['num_channels'][{i}]",
            channels,
            branches,
            f'channel counts, one per branch (num_branches[{i}])',
        )
        spec['num_channels'] = (
            spec['num_channels'][:i]
            + (tuple(channels),)
            + spec['num_channels'][i + 1 :]
        )
        # Both blocks split channels in half; the spatial weighting of a
        # LITE block then divides a half by 4.
        minimum = 8 if module_type == 'LITE' else 2
        for b, c in enumerate(channels):
            _positive_int(f"{where}['num_channels'][{i}][{b}]", c, minimum)
            if c % 2:
                raise ValueError(
                    f"LiteHRNet: {where}['num_channels'][{i}][{b}]={c}; "
                    'expected an even number (the blocks split the '
                    'channels of every branch in half)'
                )
        ratio = spec['reduce_ratios'][i]
        _positive_int(f"{where}['reduce_ratios'][{i}]", ratio)
        if module_type == 'LITE' and sum(channels) // 2 < ratio:
            raise ValueError(
                f"LiteHRNet: {where}['reduce_ratios'][{i}]={ratio} leaves "
                'no channel in the cross-resolution weighting of stage '
                f'{i} ({sum(channels) // 2} channels); expected at most '
                f'{sum(channels) // 2}'
            )

    with_head = extra.setdefault('with_head', False)
    if not isinstance(with_head, bool):
        raise TypeError(
            f"LiteHRNet: extra['with_head']={with_head!r}; expected a bool"
        )
    return extra
