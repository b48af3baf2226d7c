"""The deploy form of each block (deploy/blocks.py), one block at a time:
built from an eager block of a model with random weights, it computes
that block's function in float64 (so that only a wrong rewrite could show)
on the inputs the block meets in the model, at an even and an odd input
size. (The whole backbone switched: test_switch.py.)"""

import pytest
import torch
import torch.nn as nn

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.blocks import (
    DeployCCW,
    DeployFusion,
    DeployIterativeHead,
    DeployLiteHRModule,
    DeployShuffleUnit,
    DeployStem,
)
from litehrnet_mm.models.blocks.fusion import fuse
from litehrnet_mm.models.blocks.iterative_head import IterativeHead
from litehrnet_mm.models.blocks.lite_hr_module import LiteHRModule
from litehrnet_mm.models.blocks.shuffle import ShuffleUnit
from litehrnet_mm.models.blocks.stem import Stem
from litehrnet_mm.models.blocks.weighting import ConditionalChannelWeighting

SIZES = [(64, 48), (97, 83)]


def met(arch, kinds):
    """``(eager block, its input, its output)`` for every block of the
    types ``kinds`` in a float64 model of ``arch``, at both sizes."""
    model = random_weights_(LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)))
    model = model.double().eval()
    calls = []

    def keep(module, args, output):
        calls.append((module, args[0], output))

    hooks = [
        m.register_forward_hook(keep)
        for m in model.modules()
        if isinstance(m, kinds)
    ]
    with torch.no_grad():
        for size in SIZES:
            model(torch.randn(1, 3, *size, dtype=torch.float64))
    for hook in hooks:
        hook.remove()
    assert calls
    return calls


def assert_same(got, expected):
    if isinstance(expected, torch.Tensor):
        got, expected = [got], [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if e is None:
            assert g is None
            continue
        assert g.shape == e.shape
        scale = max(1.0, e.abs().max().item())
        assert (g - e).abs().max().item() < 1e-10 * scale


@pytest.mark.parametrize('channels_last', [False, True])
def test_stem(channels_last):
    for stem, x, expected in met('18', Stem):
        deployed = DeployStem(stem, channels_last=channels_last)
        with torch.no_grad():
            got = deployed(x)
        assert_same(got, expected)
        assert (
            got.is_contiguous(memory_format=torch.channels_last)
            == channels_last
        )


def test_conditional_channel_weighting():
    for block, x, expected in met('18', ConditionalChannelWeighting):
        with torch.no_grad():
            assert_same(DeployCCW(block)(x), expected)


def test_shuffle_unit():
    for unit, x, expected in met('naive-18', ShuffleUnit):
        with torch.no_grad():
            assert_same(DeployShuffleUnit(unit)(x), expected)


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_fusion_with_its_relu(arch):
    for module, x, _ in met(arch, LiteHRModule):
        if module.fuse_layers is None:
            continue
        with torch.no_grad():
            if module.module_type == 'LITE':
                branches = module.layers(list(x))
            else:
                branches = [b(s) for b, s in zip(module.layers, x)]
            expected = [
                None if y is None else nn.functional.relu(y)
                for y in fuse(module.fuse_layers, branches)
            ]
            assert_same(DeployFusion(module.fuse_layers)(branches), expected)


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_lite_hr_module(arch):
    for module, x, expected in met(arch, LiteHRModule):
        with torch.no_grad():
            assert_same(DeployLiteHRModule(module)(x), expected)


def test_iterative_head():
    for head, x, expected in met('18', IterativeHead):
        with torch.no_grad():
            assert_same(DeployIterativeHead(head)(x), expected)
