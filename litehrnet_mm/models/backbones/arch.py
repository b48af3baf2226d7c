"""The architecture of a Lite-HRNet: a small validated spec, and presets.

The public form of an architecture is the official ``extra`` dict (what the
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

Inside, it is an :class:`ArchSpec`: a frozen :class:`StemSpec`, one frozen
:class:`StageSpec` per stage and ``with_head``. Each checks itself when it
is made, so a spec that exists can be built; :meth:`ArchSpec.from_extra`
checks the form of the dict (keys, one entry per stage) and
:meth:`ArchSpec.to_extra` writes it back. A bad setting gets an
:class:`~litehrnet_mm.errors.ArchError` (a ``ValueError``) or, for a wrong
type, an :class:`~litehrnet_mm.errors.ArchTypeError` (a ``TypeError``),
naming the setting in the ``extra`` form, its value and what is expected,
before any layer is built.
"""

from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Dict, Optional, Sequence, Tuple

from litehrnet_mm.errors import ArchError, ArchTypeError

from ..blocks.lite_hr_module import MODULE_TYPES

__all__ = [
    'ARCH_ZOO',
    'ArchSpec',
    'StageSpec',
    'StemSpec',
    'arch_to_extra',
    'check_extra',
    'resolve_arch',
    'split_arch',
]


def _kind(value: Any) -> str:
    """'an int', 'a list': the type of ``value`` with its article."""
    name = type(value).__name__
    return ('an ' if name[0] in 'aeiou' else 'a ') + name


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(name: str, value: Any, minimum: int = 1) -> None:
    if not _is_int(value):
        raise ArchTypeError(
            f'LiteHRNet: {name}={value!r} is {_kind(value)}; expected an int'
        )
    if value < minimum:
        raise ArchError(
            f'LiteHRNet: {name}={value!r}; expected an int >= {minimum}'
        )


def _sequence(name: str, value: Any, length: int, what: str) -> None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ArchTypeError(
            f'LiteHRNet: {name}={value!r} is {_kind(value)}; expected a '
            f'sequence of {length} {what}'
        )
    if len(value) != length:
        raise ArchError(
            f'LiteHRNet: {name}={tuple(value)!r} has {len(value)} entries; '
            f'expected {length} {what}'
        )


@dataclass(frozen=True)
class StemSpec:
    """The stem: a stride-2 3x3 conv to ``stem_channels``, then a
    shuffle-style stride-2 block to ``out_channels`` (1/4 resolution) whose
    hidden width is ``stem_channels * expand_ratio``."""

    stem_channels: int
    out_channels: int
    expand_ratio: float

    def __post_init__(self) -> None:
        name = "extra['stem']"
        _int(f"{name}['stem_channels']", self.stem_channels, 2)
        _int(f"{name}['out_channels']", self.out_channels, 2)
        if self.stem_channels % 2 or self.out_channels % 2:
            raise ArchError(
                f'LiteHRNet: {name} has stem_channels={self.stem_channels}, '
                f'out_channels={self.out_channels}; expected even numbers '
                '(the stem splits its channels in half and shuffles them in '
                'pairs)'
            )
        if self.out_channels < self.stem_channels:
            raise ArchError(
                f'LiteHRNet: {name} has out_channels={self.out_channels} < '
                f'stem_channels={self.stem_channels}; expected out_channels '
                'equal to or larger than stem_channels'
            )
        ratio = self.expand_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, Real):
            raise ArchTypeError(
                f"LiteHRNet: {name}['expand_ratio']={ratio!r}; expected a "
                'number'
            )
        if round(self.stem_channels * ratio) < 1:
            raise ArchError(
                f"LiteHRNet: {name}['expand_ratio']={ratio!r} leaves no "
                'hidden channel; expected a ratio >= '
                f'{1 / self.stem_channels:g}'
            )


# The key of each StageSpec field in extra['stages_spec'].
_EXTRA_KEYS = {
    'num_modules': 'num_modules',
    'num_blocks': 'num_blocks',
    'module_type': 'module_type',
    'with_fuse': 'with_fuse',
    'reduce_ratio': 'reduce_ratios',
    'num_channels': 'num_channels',
}


@dataclass(frozen=True)
class StageSpec:
    """One stage: ``num_modules`` LiteHRModules over ``len(num_channels)``
    branches (``num_channels[b]`` channels in branch ``b``, the highest
    resolution first), each with ``num_blocks`` blocks per branch of
    ``module_type`` ('LITE' or 'NAIVE'), a cross-resolution weighting
    reduced by ``reduce_ratio`` and, with ``with_fuse``, a fusion.

    ``index`` (the stage's place, not compared) only names the setting in
    the ``extra`` form in error messages.
    """

    num_modules: int
    num_blocks: int
    module_type: str
    with_fuse: bool
    reduce_ratio: int
    num_channels: Tuple[int, ...]
    index: Optional[int] = field(default=None, compare=False, repr=False)

    @property
    def num_branches(self) -> int:
        return len(self.num_channels)

    def _name(self, attr: str) -> str:
        if self.index is None:
            return f'StageSpec.{attr}'
        return f"extra['stages_spec'][{_EXTRA_KEYS[attr]!r}][{self.index}]"

    def __post_init__(self) -> None:
        _int(self._name('num_modules'), self.num_modules)
        _int(self._name('num_blocks'), self.num_blocks)
        if self.module_type not in MODULE_TYPES:
            raise ArchError(
                f'LiteHRNet: {self._name("module_type")}='
                f'{self.module_type!r}; expected one of {MODULE_TYPES}'
            )
        if not isinstance(self.with_fuse, bool):
            raise ArchTypeError(
                f'LiteHRNet: {self._name("with_fuse")}={self.with_fuse!r}; '
                'expected a bool'
            )
        if not isinstance(self.num_channels, tuple) or not (self.num_channels):
            raise ArchTypeError(
                f'LiteHRNet: {self._name("num_channels")}='
                f'{self.num_channels!r}; expected a tuple of channel '
                'counts, one per branch'
            )
        # Both blocks split channels in half; the spatial weighting of a
        # LITE block then divides a half by 4.
        minimum = 8 if self.module_type == 'LITE' else 2
        for b, c in enumerate(self.num_channels):
            name = f'{self._name("num_channels")}[{b}]'
            _int(name, c, minimum)
            if c % 2:
                raise ArchError(
                    f'LiteHRNet: {name}={c}; expected an even number (the '
                    'blocks split the channels of every branch in half)'
                )
        _int(self._name('reduce_ratio'), self.reduce_ratio)
        half = sum(self.num_channels) // 2
        if self.module_type == 'LITE' and half < self.reduce_ratio:
            raise ArchError(
                f'LiteHRNet: {self._name("reduce_ratio")}={self.reduce_ratio}'
                ' leaves no channel in the cross-resolution weighting '
                f'({half} channels); expected at most {half}'
            )


#: The keys of ``extra['stages_spec']``, one entry per stage each.
STAGE_KEYS = (
    'num_modules',
    'num_branches',
    'num_blocks',
    'module_type',
    'with_fuse',
    'reduce_ratios',
    'num_channels',
)


@dataclass(frozen=True)
class ArchSpec:
    """A whole Lite-HRNet: the stem, the stages (stage ``i`` has ``i + 2``
    branches: the first has two, each adds one at half the resolution) and
    whether the iterative head follows."""

    stem: StemSpec
    stages: Tuple[StageSpec, ...]
    with_head: bool = False

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    def __post_init__(self) -> None:
        if not isinstance(self.stem, StemSpec):
            raise ArchTypeError(
                f'LiteHRNet: ArchSpec.stem is {_kind(self.stem)}; expected '
                'a StemSpec'
            )
        if (
            not isinstance(self.stages, tuple)
            or not self.stages
            or not all(isinstance(s, StageSpec) for s in self.stages)
        ):
            raise ArchTypeError(
                f'LiteHRNet: ArchSpec.stages={self.stages!r}; expected a '
                'tuple of StageSpecs, at least one'
            )
        for i, stage in enumerate(self.stages):
            if stage.num_branches != i + 2:
                raise ArchError(
                    f'LiteHRNet: stage {i} has {stage.num_branches} branches '
                    f'(num_channels={stage.num_channels}); expected {i + 2} '
                    '(stage 1 has two branches and each stage adds one)'
                )
        if not isinstance(self.with_head, bool):
            raise ArchTypeError(
                f"LiteHRNet: extra['with_head']={self.with_head!r}; "
                'expected a bool'
            )

    @classmethod
    def from_extra(cls, extra: Any) -> 'ArchSpec':
        """The spec of an official ``extra`` dict (not modified); module
        types are read in any case, ``with_head`` defaults to False.

        Raises:
            ArchTypeError: a setting of the wrong type.
            ArchError: a missing key, or a setting with a wrong length or
                value.
        """
        if not isinstance(extra, dict):
            raise ArchTypeError(
                f'LiteHRNet: extra is {_kind(extra)}; expected a dict with '
                'keys stem, num_stages, stages_spec (and optionally '
                'with_head)'
            )
        for key in ('stem', 'num_stages', 'stages_spec'):
            if key not in extra:
                raise ArchError(
                    f'LiteHRNet: extra has no {key!r}; expected keys stem, '
                    'num_stages, stages_spec'
                )
        return cls(
            _stem_from_extra(extra['stem']),
            _stages_from_extra(extra['num_stages'], extra['stages_spec']),
            extra.get('with_head', False),
        )

    def to_extra(self) -> Dict[str, Any]:
        """The official ``extra`` dict of this spec (a new one)."""
        stages = self.stages
        return dict(
            stem=dict(
                stem_channels=self.stem.stem_channels,
                out_channels=self.stem.out_channels,
                expand_ratio=self.stem.expand_ratio,
            ),
            num_stages=self.num_stages,
            stages_spec=dict(
                num_modules=tuple(s.num_modules for s in stages),
                num_branches=tuple(s.num_branches for s in stages),
                num_blocks=tuple(s.num_blocks for s in stages),
                module_type=tuple(s.module_type for s in stages),
                with_fuse=tuple(s.with_fuse for s in stages),
                reduce_ratios=tuple(s.reduce_ratio for s in stages),
                num_channels=tuple(s.num_channels for s in stages),
            ),
            with_head=self.with_head,
        )


def _stem_from_extra(stem: Any) -> StemSpec:
    """The spec of ``extra['stem']``, its form checked first."""
    if not isinstance(stem, dict):
        raise ArchTypeError(
            f"LiteHRNet: extra['stem']={stem!r}; expected "
            'dict(stem_channels=..., out_channels=..., expand_ratio=...)'
        )
    for key in ('stem_channels', 'out_channels', 'expand_ratio'):
        if key not in stem:
            raise ArchError(
                f"LiteHRNet: extra['stem'] has no {key!r}; expected "
                'stem_channels, out_channels and expand_ratio'
            )
    return StemSpec(
        stem['stem_channels'], stem['out_channels'], stem['expand_ratio']
    )


def _stages_from_extra(num_stages: Any, spec: Any) -> Tuple[StageSpec, ...]:
    """The specs of ``extra['stages_spec']``, its form checked first: a
    dict of sequences with one entry per stage, stage ``i`` with ``i + 2``
    branches and one channel count per branch."""
    _int("extra['num_stages']", num_stages)
    if not isinstance(spec, dict):
        raise ArchTypeError(
            f"LiteHRNet: extra['stages_spec'] is {_kind(spec)}; expected "
            f'a dict with keys {", ".join(STAGE_KEYS)}'
        )
    for key in STAGE_KEYS:
        if key not in spec:
            raise ArchError(
                f"LiteHRNet: extra['stages_spec'] has no {key!r}; "
                f'expected keys {", ".join(STAGE_KEYS)}'
            )
        _sequence(
            f"extra['stages_spec'][{key!r}]",
            spec[key],
            num_stages,
            'entries, one per stage (num_stages)',
        )
    branches = tuple(spec['num_branches'])
    for i, n in enumerate(branches):
        if not _is_int(n):
            raise ArchTypeError(
                f"LiteHRNet: extra['stages_spec']['num_branches'][{i}]="
                f'{n!r}; expected an int'
            )
    if branches != tuple(range(2, num_stages + 2)):
        raise ArchError(
            "LiteHRNet: extra['stages_spec']['num_branches']="
            f'{branches!r}; expected {tuple(range(2, num_stages + 2))} '
            '(stage 1 has two branches and each stage adds one)'
        )
    stages = []
    for i in range(num_stages):
        channels = spec['num_channels'][i]
        _sequence(
            f"extra['stages_spec']['num_channels'][{i}]",
            channels,
            branches[i],
            f'channel counts, one per branch (num_branches[{i}])',
        )
        module_type = spec['module_type'][i]
        stages.append(
            StageSpec(
                num_modules=spec['num_modules'][i],
                num_blocks=spec['num_blocks'][i],
                module_type=module_type.upper()
                if isinstance(module_type, str)
                else module_type,
                with_fuse=spec['with_fuse'][i],
                reduce_ratio=spec['reduce_ratios'][i],
                num_channels=tuple(channels),
                index=i,
            )
        )
    return tuple(stages)


_STEM = StemSpec(stem_channels=32, out_channels=32, expand_ratio=1)

#: The four presets of the paper (Table 1 and Sec. 4), as the official
#: configs write them: the stem (32, 32, expand 1), 2 blocks per branch,
#: reduce ratio 8, every stage fused, the iterative head. Each stage reads
#: StageSpec(num_modules, num_blocks, module_type, with_fuse, reduce_ratio,
#: num_channels).
ARCH_ZOO: Dict[str, ArchSpec] = {
    '18': ArchSpec(
        stem=_STEM,
        stages=(
            StageSpec(2, 2, 'LITE', True, 8, (40, 80)),
            StageSpec(4, 2, 'LITE', True, 8, (40, 80, 160)),
            StageSpec(2, 2, 'LITE', True, 8, (40, 80, 160, 320)),
        ),
        with_head=True,
    ),
    '30': ArchSpec(
        stem=_STEM,
        stages=(
            StageSpec(3, 2, 'LITE', True, 8, (40, 80)),
            StageSpec(8, 2, 'LITE', True, 8, (40, 80, 160)),
            StageSpec(3, 2, 'LITE', True, 8, (40, 80, 160, 320)),
        ),
        with_head=True,
    ),
    'naive-18': ArchSpec(
        stem=_STEM,
        stages=(
            StageSpec(2, 2, 'NAIVE', True, 8, (30, 60)),
            StageSpec(4, 2, 'NAIVE', True, 8, (30, 60, 120)),
            StageSpec(2, 2, 'NAIVE', True, 8, (30, 60, 120, 240)),
        ),
        with_head=True,
    ),
    'wider-naive-18': ArchSpec(
        stem=_STEM,
        stages=(
            StageSpec(2, 2, 'NAIVE', True, 8, (40, 80)),
            StageSpec(4, 2, 'NAIVE', True, 8, (40, 80, 160)),
            StageSpec(2, 2, 'NAIVE', True, 8, (40, 80, 160, 320)),
        ),
        with_head=True,
    ),
}


def resolve_arch(arch: Any) -> str:
    """The preset name ``arch`` stands for. An int is read as its name
    (``--cfg-options model.backbone.arch=18`` gives the int 18: mmengine
    reads a number there even when quoted).

    Raises:
        ArchTypeError: neither a str nor an int.
        ArchError: no preset of that name.
    """
    if _is_int(arch):
        arch = str(arch)
    if not isinstance(arch, str):
        raise ArchTypeError(
            f'LiteHRNet: arch={arch!r} is {_kind(arch)}; expected a preset '
            f'name, one of {sorted(ARCH_ZOO)}, or extra=dict(...)'
        )
    if arch not in ARCH_ZOO:
        raise ArchError(
            f'LiteHRNet: unknown arch={arch!r}; expected one of '
            f'{sorted(ARCH_ZOO)}, or extra=dict(...)'
        )
    return arch


def arch_to_extra(arch: Any) -> Dict[str, Any]:
    """The official ``extra`` dict of a preset name."""
    return ARCH_ZOO[resolve_arch(arch)].to_extra()


def check_extra(extra: Any) -> Dict[str, Any]:
    """``extra`` checked and normalised (tuples, upper-case module types,
    ``with_head`` filled in): ``ArchSpec.from_extra(extra).to_extra()``."""
    return ArchSpec.from_extra(extra).to_extra()


def split_arch(arch: Any, extra: Any) -> Tuple[Optional[str], Any]:
    """``(preset name or None, extra or None)`` from the backbone's first
    two arguments: a dict as the first one is ``extra``, as in the official
    code's and mmpose's ``LiteHRNet(extra, ...)``."""
    if isinstance(arch, dict):
        if extra is not None:
            raise ArchTypeError(
                'LiteHRNet: an extra dict both as the first argument and as '
                'extra=; expected it once, LiteHRNet(extra) or '
                'LiteHRNet(extra=extra)'
            )
        return None, arch
    return (arch, None) if extra is None else (None, extra)
