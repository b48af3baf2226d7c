"""The LiteHRModule: branches keep their shapes, LITE and NAIVE blocks, the
fusion (or none), bad settings, and outputs left out on request."""

import pytest
import torch

from litehrnet_mm import ArchError
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.fusion import fuse
from litehrnet_mm.models.blocks.lite_hr_module import LiteHRModule
from litehrnet_mm.models.blocks.shuffle import ShuffleUnit
from litehrnet_mm.models.blocks.weighting import ConditionalChannelWeighting

CHANNELS = (16, 32, 64)
SIZES = [(12, 10), (6, 5), (3, 3)]


def module(module_type='LITE', with_fuse=True, **kwargs):
    m = LiteHRModule(
        num_branches=3,
        num_blocks=2,
        in_channels=CHANNELS,
        reduce_ratio=8,
        module_type=module_type,
        with_fuse=with_fuse,
        **kwargs,
    )
    return random_weights_(m).eval()


def inputs():
    gen = torch.Generator().manual_seed(0)
    return [
        torch.randn(2, c, *s, generator=gen) for c, s in zip(CHANNELS, SIZES)
    ]


@pytest.mark.parametrize('module_type', ['LITE', 'NAIVE', 'naive'])
@pytest.mark.parametrize('with_fuse', [True, False])
def test_branches_keep_their_shapes(module_type, with_fuse):
    m = module(module_type, with_fuse)
    assert m.module_type == module_type.upper()
    block = (
        ConditionalChannelWeighting
        if m.module_type == 'LITE'
        else (ShuffleUnit)
    )
    assert sum(isinstance(b, block) for b in m.modules()) == (
        2 if block is ConditionalChannelWeighting else 2 * 3
    )
    x = inputs()
    with torch.no_grad():
        out = m(x)
    assert [o.shape for o in out] == [s.shape for s in x]


def test_the_fusion_follows_the_blocks():
    m = module('NAIVE')
    x = inputs()
    with torch.no_grad():
        blocks = [branch(s) for branch, s in zip(m.layers, x)]
        expected = [torch.relu(y) for y in fuse(m.fuse_layers, blocks)]
        got = m(x)
        unfused = module('NAIVE', with_fuse=False)
        unfused.load_state_dict(m.state_dict(), strict=False)
        plain = unfused(x)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)
    for a, b in zip(plain, blocks):
        assert torch.equal(a, b)
    assert unfused.fuse_layers is None


@pytest.mark.parametrize(
    'kwargs, words',
    [
        (dict(num_branches=2), ['num_branches=2', '3 entries']),
        (dict(module_type='HEAVY'), ['HEAVY', "('LITE', 'NAIVE')"]),
    ],
)
def test_bad_settings(kwargs, words):
    settings = dict(
        num_branches=3,
        num_blocks=1,
        in_channels=CHANNELS,
        reduce_ratio=8,
        module_type='LITE',
    )
    settings.update(kwargs)
    with pytest.raises(ArchError) as info:
        LiteHRModule(**settings)
    for word in words:
        assert word in str(info.value)


def test_unread_outputs_left_out_leave_the_others_bitwise():
    m = module('LITE')
    x = inputs()
    with torch.no_grad():
        full = m(x)
    unread = m.unread_outputs({2})
    assert unread == {'fuse_layers.1': m.fuse_layers[1]}  # nothing changed
    # Output 0 is read whatever is kept: every other output reads it.
    assert set(m.unread_outputs({1})) == {'fuse_layers.2'}
    assert set(m.unread_outputs(set())) == {'fuse_layers.1', 'fuse_layers.2'}
    assert module('LITE', with_fuse=False).unread_outputs({0}) == {}
    m.fuse_layers[1] = None
    with torch.no_grad():
        out = m(x)
    assert out[1] is None
    assert torch.equal(out[0], full[0]) and torch.equal(out[2], full[2])
    assert set(m.unread_outputs({2})) == set()
