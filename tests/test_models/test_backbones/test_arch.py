"""Architecture settings: every bad value is refused when the backbone is
built, with a ValueError or TypeError naming the setting; random valid
architectures build and return what they declare."""

import copy
import dataclasses

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from litehrnet_mm import ArchError, ArchTypeError, LiteHRNet, LiteHRNetError
from litehrnet_mm.models.backbones.arch import (
    ARCH_ZOO,
    STAGE_KEYS,
    ArchSpec,
    StageSpec,
    StemSpec,
    arch_to_extra,
    check_extra,
)


def extra_with(path, value):
    extra = arch_to_extra('18')
    target = extra
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return extra


SPEC = ('stages_spec',)
BAD_EXTRAS = [
    # (path, value, error, words the message must hold)
    (SPEC + ('num_modules',), (2, 4), ValueError, ['num_modules', '3']),
    (SPEC + ('num_modules',), (2, 0, 2), ValueError, ['num_modules', '>= 1']),
    (SPEC + ('num_modules',), (2, 4.0, 2), TypeError, ['num_modules']),
    (
        SPEC + ('num_branches',),
        (2, 3, 3),
        ValueError,
        ['num_branches', '(2, 3, 4)'],
    ),
    (SPEC + ('num_branches',), (1, 2, 3), ValueError, ['num_branches']),
    (SPEC + ('num_blocks',), (2, 2), ValueError, ['num_blocks']),
    (SPEC + ('num_blocks',), (2, -1, 2), ValueError, ['num_blocks']),
    (
        SPEC + ('module_type',),
        ('LITE', 'HEAVY', 'LITE'),
        ValueError,
        ['module_type', 'HEAVY', 'NAIVE'],
    ),
    (
        SPEC + ('module_type',),
        ('LITE', 3, 'LITE'),
        ValueError,
        ['module_type'],
    ),
    (SPEC + ('with_fuse',), (True, 'yes', True), TypeError, ['with_fuse']),
    (SPEC + ('with_fuse',), (True, True), ValueError, ['with_fuse']),
    (SPEC + ('reduce_ratios',), (8, 8), ValueError, ['reduce_ratios']),
    (SPEC + ('reduce_ratios',), (8, 0, 8), ValueError, ['reduce_ratios']),
    (
        SPEC + ('reduce_ratios',),
        (8, 1000, 8),
        ValueError,
        ['reduce_ratios', 'at most'],
    ),
    (
        SPEC + ('num_channels',),
        ((40, 80), (40, 80), (40, 80, 160, 320)),
        ValueError,
        ['num_channels', 'per branch'],
    ),
    (
        SPEC + ('num_channels',),
        ((40, 80), (40, 80, 160)),
        ValueError,
        ['num_channels'],
    ),
    (
        SPEC + ('num_channels',),
        ((40, 81), (40, 80, 160), (40, 80, 160, 320)),
        ValueError,
        ['num_channels', 'even'],
    ),
    (
        SPEC + ('num_channels',),
        ((4, 80), (40, 80, 160), (40, 80, 160, 320)),
        ValueError,
        ['num_channels', '>= 8'],
    ),
    (SPEC + ('num_channels',), 40, TypeError, ['num_channels']),
    (SPEC + ('num_modules',), 'abc', TypeError, ['num_modules']),
    (('num_stages',), 0, ValueError, ['num_stages']),
    (('num_stages',), '3', TypeError, ['num_stages']),
    (('stem', 'stem_channels'), 31, ValueError, ['stem', 'even']),
    (('stem', 'out_channels'), 16, ValueError, ['out_channels']),
    (('stem', 'expand_ratio'), 0, ValueError, ['expand_ratio']),
    (('stem', 'expand_ratio'), 'big', TypeError, ['expand_ratio']),
    (('stem',), None, TypeError, ['stem']),
    (('with_head',), 'yes', TypeError, ['with_head']),
    (('stages_spec',), [], TypeError, ['stages_spec']),
]


@pytest.mark.parametrize('path,value,error,words', BAD_EXTRAS)
def test_bad_extra_is_refused_with_a_clear_error(path, value, error, words):
    with pytest.raises(error) as info:
        LiteHRNet(extra=extra_with(path, value))
    message = str(info.value)
    assert message.startswith('LiteHRNet: ')
    for word in words:
        assert word in message, message


def test_missing_keys_are_named():
    extra = arch_to_extra('18')
    del extra['stages_spec']['reduce_ratios']
    with pytest.raises(ValueError, match='reduce_ratios'):
        LiteHRNet(extra=extra)
    with pytest.raises(ValueError, match="no 'stem'"):
        LiteHRNet(extra=dict(num_stages=3, stages_spec={}))
    with pytest.raises(TypeError, match='expected a dict'):
        LiteHRNet(extra=[1, 2, 3])


@pytest.mark.parametrize(
    'kwargs,error,words',
    [
        (dict(arch='18x'), ValueError, ['arch', "'18x'", 'naive-18']),
        (dict(arch=18.0), TypeError, ['arch=18.0 is a float', 'preset name']),
        (dict(arch=19), ValueError, ['arch=', '19', "'naive-18'"]),
        (dict(in_channels=0), ValueError, ['in_channels']),
        (dict(in_channels=3.0), TypeError, ['in_channels']),
        (dict(out_indices=(4,)), ValueError, ['out_indices', '0..3']),
        (dict(out_indices=(0, 0)), ValueError, ['out_indices', 'distinct']),
        (dict(out_indices=()), ValueError, ['out_indices']),
        (dict(out_indices='0'), TypeError, ['out_indices']),
        (dict(out_indices=(0.0,)), TypeError, ['out_indices']),
        (dict(frozen_stages=4), ValueError, ['frozen_stages', '-1']),
        (dict(frozen_stages=-2), ValueError, ['frozen_stages']),
        (dict(frozen_stages=None), TypeError, ['frozen_stages']),
        (dict(with_head='no'), TypeError, ['with_head']),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, words):
    with pytest.raises(error) as info:
        LiteHRNet(**kwargs)
    for word in words:
        assert word in str(info.value), str(info.value)


def test_out_indices_accepts_a_single_int():
    assert LiteHRNet(out_indices=2).out_indices == (2,)


def test_check_extra_normalises_without_touching_the_input():
    extra = arch_to_extra('naive-18')
    extra['stages_spec']['module_type'] = ['naive', 'Naive', 'NAIVE']
    del extra['with_head']
    before = copy.deepcopy(extra)
    checked = check_extra(extra)
    assert extra == before
    assert checked['stages_spec']['module_type'] == ('NAIVE',) * 3
    assert checked['with_head'] is False


@pytest.mark.parametrize(
    'shape,words',
    [
        ((3, 64, 64), ['(3, 64, 64)', '(N, 3, H, W)']),
        ((1, 1, 64, 64), ['(1, 1, 64, 64)', 'in_channels=3']),
        ((1, 64, 64, 3), ['(1, 64, 64, 3)']),
    ],
)
def test_bad_input_tensor(shape, words):
    model = LiteHRNet(arch='naive-18').eval()
    with pytest.raises(ValueError) as info:
        model(torch.rand(*shape))
    for word in words:
        assert word in str(info.value)


def test_input_that_is_not_a_tensor():
    with pytest.raises(TypeError, match='expected a tensor'):
        LiteHRNet()([torch.rand(1, 3, 64, 64)])


def test_one_pixel_inputs_work_in_eval_mode():
    model = LiteHRNet(out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 1, 1))
    assert [tuple(o.shape[2:]) for o in outs] == [(1, 1)] * 4


def test_too_small_for_training_statistics_is_refused():
    model = LiteHRNet().train()
    with pytest.raises(ValueError, match='at least'):
        model(torch.rand(1, 3, 32, 32))
    model(torch.rand(2, 3, 32, 32))  # two values per channel are enough


# Random architectures ------------------------------------------------------


@st.composite
def valid_extras(draw):
    num_stages = draw(st.integers(1, 3))
    module_type = draw(
        st.lists(
            st.sampled_from(['LITE', 'NAIVE']),
            min_size=num_stages,
            max_size=num_stages,
        )
    )
    base = draw(st.sampled_from([8, 12, 16]))
    channels = [base * 2**i for i in range(num_stages + 1)]
    stem = draw(st.sampled_from([(16, 16), (16, 24), (32, 32)]))
    return dict(
        stem=dict(
            stem_channels=stem[0],
            out_channels=stem[1],
            expand_ratio=draw(st.sampled_from([0.5, 1, 2])),
        ),
        num_stages=num_stages,
        stages_spec=dict(
            num_modules=tuple(
                draw(
                    st.lists(
                        st.integers(1, 2),
                        min_size=num_stages,
                        max_size=num_stages,
                    )
                )
            ),
            num_branches=tuple(range(2, num_stages + 2)),
            num_blocks=tuple(
                draw(
                    st.lists(
                        st.integers(1, 2),
                        min_size=num_stages,
                        max_size=num_stages,
                    )
                )
            ),
            module_type=tuple(module_type),
            with_fuse=tuple(
                draw(
                    st.lists(
                        st.booleans(), min_size=num_stages, max_size=num_stages
                    )
                )
            ),
            reduce_ratios=tuple(
                draw(
                    st.lists(
                        st.sampled_from([2, 4, 8]),
                        min_size=num_stages,
                        max_size=num_stages,
                    )
                )
            ),
            num_channels=tuple(
                tuple(channels[: i + 2]) for i in range(num_stages)
            ),
        ),
        with_head=draw(st.booleans()),
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(extra=valid_extras(), data=st.data())
def test_random_valid_architectures_return_what_they_declare(extra, data):
    n = extra['num_stages'] + 1
    out_indices = tuple(
        sorted(data.draw(st.sets(st.integers(0, n - 1), min_size=1)))
    )
    h, w = data.draw(st.integers(8, 48)), data.draw(st.integers(8, 48))
    model = LiteHRNet(extra=extra, out_indices=out_indices).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, h, w))
    assert len(outs) == len(out_indices) == len(model.out_channels)
    for out, channels, stride in zip(
        outs, model.out_channels, model.out_strides
    ):
        assert out.shape[1] == channels
        expected = (h, w)
        for _ in range(stride.bit_length() - 1):  # ceil-halving per stride
            expected = tuple(-(-s // 2) for s in expected)
        assert tuple(out.shape[2:]) == expected


def corrupt(extra, key, how):
    """Make one setting of a valid ``extra`` wrong in one way."""
    extra = copy.deepcopy(extra)
    if key in ('stem_channels', 'out_channels', 'expand_ratio'):
        extra['stem'][key] = {'length': [32], 'type': '32', 'value': -2}[how]
        return extra
    spec = extra['stages_spec']
    values = list(spec[key])
    if how == 'length':
        values = values[:-1] if len(values) > 1 else values * 2
    else:
        i = len(values) - 1
        values[i] = {'type': 1.5, 'value': -1}[how]
    spec[key] = tuple(values)
    return extra


@settings(max_examples=40, deadline=None)
@given(
    extra=valid_extras(),
    key=st.sampled_from(
        [
            *STAGE_KEYS,
            'stem_channels',
            'out_channels',
            'expand_ratio',
        ]
    ),
    how=st.sampled_from(['length', 'type', 'value']),
)
def test_random_invalid_architectures_are_refused(extra, key, how):
    bad = corrupt(extra, key, how)
    if key == 'expand_ratio' and how == 'length':
        how = 'type'  # a list is a wrong type for a ratio
    with pytest.raises((ValueError, TypeError)) as info:
        LiteHRNet(extra=bad)
    assert str(info.value).startswith('LiteHRNet: ')


# The spec ------------------------------------------------------------------


def test_arch_as_an_int_is_its_preset_name():
    """--cfg-options model.backbone.arch=18 reads an int (quoted or not)."""
    assert LiteHRNet(arch=18).arch == '18'
    assert LiteHRNet(arch=30).extra == LiteHRNet(arch='30').extra


def test_setting_errors_are_ours_and_the_builtin_kinds():
    with pytest.raises(ArchError) as info:
        LiteHRNet(out_indices=(4,))
    assert isinstance(info.value, (LiteHRNetError, ValueError))
    assert not isinstance(info.value, TypeError)
    with pytest.raises(ArchTypeError) as info:
        LiteHRNet(extra=extra_with(('num_stages',), '3'))
    assert isinstance(info.value, (ArchError, LiteHRNetError, TypeError))
    with pytest.raises(ArchTypeError):
        LiteHRNet(arch=['18'])


# The official configs' extra of each preset, as they write it.
OFFICIAL = {
    name: dict(
        stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
        num_stages=3,
        stages_spec=dict(
            num_modules=modules,
            num_branches=(2, 3, 4),
            num_blocks=(2, 2, 2),
            module_type=(kind,) * 3,
            with_fuse=(True, True, True),
            reduce_ratios=(8, 8, 8),
            num_channels=tuple(c[:n] for n in (2, 3, 4)),
        ),
        with_head=True,
    )
    for name, modules, kind, c in [
        ('18', (2, 4, 2), 'LITE', (40, 80, 160, 320)),
        ('30', (3, 8, 3), 'LITE', (40, 80, 160, 320)),
        ('naive-18', (2, 4, 2), 'NAIVE', (30, 60, 120, 240)),
        ('wider-naive-18', (2, 4, 2), 'NAIVE', (40, 80, 160, 320)),
    ]
}


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_presets_write_the_official_extra_and_read_back(name):
    spec = ARCH_ZOO[name]
    assert spec.to_extra() == OFFICIAL[name] == arch_to_extra(name)
    assert ArchSpec.from_extra(OFFICIAL[name]) == spec
    model = LiteHRNet(arch=name)
    assert model.spec == spec and model.extra == OFFICIAL[name]
    assert model.num_stages == spec.num_stages == 3
    assert [s.num_branches for s in spec.stages] == [2, 3, 4]


def test_specs_are_frozen_and_check_themselves():
    spec = ARCH_ZOO['18']
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.with_head = False
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.stages[0].num_modules = 3
    stage = spec.stages[0]
    with pytest.raises(ArchError, match=r'StageSpec.num_modules=0; .* >= 1'):
        dataclasses.replace(stage, num_modules=0)
    with pytest.raises(ArchError, match='NAIVE'):
        dataclasses.replace(stage, module_type='lite')  # specs are exact
    with pytest.raises(ArchError, match='even'):
        dataclasses.replace(stage, num_channels=(40, 81))
    with pytest.raises(ArchTypeError, match='expected a bool'):
        dataclasses.replace(stage, with_fuse=1)
    with pytest.raises(ArchError, match='expected 2'):
        ArchSpec(stem=spec.stem, stages=spec.stages[1:], with_head=True)
    with pytest.raises(ArchError, match='out_channels'):
        StemSpec(stem_channels=32, out_channels=16, expand_ratio=1)
    with pytest.raises(ArchTypeError, match='StageSpecs'):
        ArchSpec(stem=spec.stem, stages=list(spec.stages))


def test_a_custom_spec_builds_what_it_says():
    stages = (
        StageSpec(1, 1, 'NAIVE', False, 2, (8, 16)),
        StageSpec(1, 2, 'LITE', True, 4, (8, 16, 32)),
    )
    spec = ArchSpec(StemSpec(16, 16, 0.5), stages, with_head=False)
    model = LiteHRNet(extra=spec.to_extra(), out_indices=(0, 1, 2))
    assert model.spec == spec and model.arch is None
    assert model.out_channels == (8, 16, 32)
    assert len(model.stage0) == 1 and len(model.stage1[0].layers) == 2
