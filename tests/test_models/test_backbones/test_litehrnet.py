"""LiteHRNet on its own options (needs neither mmpose nor mmseg; the
comparison with mmpose's port is in test_litehrnet_port.py)."""

import copy

import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.models.backbones.arch import arch_to_extra
from tests.conftest import PRESETS


def test_extra_form_equals_preset():
    extra = arch_to_extra('30')
    a = LiteHRNet(extra=copy.deepcopy(extra))
    b = LiteHRNet(arch='30')
    assert list(a.state_dict()) == list(b.state_dict())
    assert a.extra == b.extra


@pytest.mark.parametrize('arch', PRESETS)
@pytest.mark.parametrize('with_head', [True, False])
def test_out_indices_and_channels(arch, with_head):
    model = LiteHRNet(
        arch=arch, out_indices=(0, 1, 2, 3), with_head=with_head
    ).eval()
    channels = arch_to_extra(arch)['stages_spec']['num_channels'][-1]
    if with_head:  # each branch takes the channels of the one above it
        channels = (channels[0],) + tuple(channels[:-1])
    assert model.out_channels == tuple(channels)
    assert model.out_strides == (4, 8, 16, 32)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 128, 64))
    assert [o.shape[1] for o in outs] == list(channels)
    assert [tuple(o.shape[2:]) for o in outs] == [
        (32, 16),
        (16, 8),
        (8, 4),
        (4, 2),
    ]


def test_out_indices_select_and_order():
    model = LiteHRNet(out_indices=(3, 1)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert model.out_channels == (160, 40)
    assert [o.shape[1:] for o in outs] == [(160, 2, 2), (40, 8, 8)]
    assert LiteHRNet().out_indices == (0,)


@pytest.mark.parametrize(
    'size', [(250, 190), (225, 225), (64, 48), (97, 33), (17, 9)]
)
@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_any_input_size(arch, size):
    """Sizes that are not multiples of the branch strides (mmpose 1.3.2's
    port fails on them: it upsamples by a scale factor, not to a size)."""
    model = LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)).eval()
    h, w = size
    with torch.no_grad():
        outs = model(torch.rand(1, 3, h, w))
    for i, out in enumerate(outs):
        for n, got in zip((h, w), out.shape[2:]):
            expected = n
            for _ in range(i + 2):  # stride-2 convs, padding 1: ceil(n / 2)
                expected = -(-expected // 2)
            assert got == expected


def test_train_and_eval_return_the_module():
    model = LiteHRNet()
    assert model.train() is model
    assert model.eval() is model
    assert model.train(False) is model


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 2, 3])
def test_frozen_stages(frozen_stages):
    model = LiteHRNet(frozen_stages=frozen_stages).train()
    frozen = []
    if frozen_stages >= 0:
        frozen.append('stem')
    for i in range(max(frozen_stages, 0)):
        frozen += [f'transition{i}', f'stage{i}']
    for name, module in model.named_children():
        params = list(module.parameters())
        is_frozen = name in frozen
        assert all(p.requires_grad != is_frozen for p in params), name
        assert all(m.training != is_frozen for m in module.modules()), name
    # Frozen BN statistics do not move in a training step.
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model(torch.randn(2, 3, 64, 64))
    for name, value in model.state_dict().items():
        top = name.split('.')[0]
        if 'running' in name:
            assert torch.equal(value, before[name]) == (top in frozen), name


def test_norm_eval():
    model = LiteHRNet(norm_eval=True).train()
    assert model.training
    bns = [
        m
        for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert bns and not any(m.training for m in bns)
    assert all(p.requires_grad for p in model.parameters())
    assert any(m.training for m in model.modules())


# The hosts' conventions -----------------------------------------------------


def test_extra_as_first_positional_argument():
    """``LiteHRNet(extra, ...)``: the official and mmpose signature."""
    extra = arch_to_extra('naive-18')
    model = LiteHRNet(copy.deepcopy(extra), in_channels=3).eval()
    assert model.arch is None
    assert model.extra == LiteHRNet(extra=copy.deepcopy(extra)).extra
    assert list(model.state_dict()) == list(
        LiteHRNet(arch='naive-18').state_dict()
    )
    assert model(torch.rand(1, 3, 64, 64))[0].shape == (1, 30, 16, 16)
    assert LiteHRNet('30').arch == '30'
    with pytest.raises(TypeError, match='extra dict both as the first'):
        LiteHRNet(extra, extra=extra)


def test_backbones_in_finds_each_lite_hrnet_of_a_model():
    from litehrnet_mm.models.backbones.litehrnet import backbones_in

    one, two = LiteHRNet(arch='18'), LiteHRNet(arch='naive-18')
    model = torch.nn.ModuleList([torch.nn.Conv2d(3, 3, 1), one, two])
    assert backbones_in(model) == [one, two]
    assert backbones_in(one) == [one]
    assert backbones_in(torch.nn.Conv2d(3, 3, 1)) == []
