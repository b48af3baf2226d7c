"""LiteHRNet on its own options (needs neither mmpose nor mmseg; the
comparison with mmpose's port is in test_litehrnet_port.py)."""

import copy

import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
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


def test_with_cp_same_gradients_and_statistics():
    torch.manual_seed(0)
    plain = random_weights_(LiteHRNet(arch='18', out_indices=(0, 3))).train()
    cp = LiteHRNet(arch='18', out_indices=(0, 3), with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    losses = [sum(o.pow(2).mean() for o in m(x)) for m in (plain, cp)]
    torch.testing.assert_close(losses[0], losses[1])
    for loss in losses:
        loss.backward()
    for (name, p), q in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)
    # The recomputation in backward must not update BN statistics again.
    for (name, a), b in zip(
        plain.state_dict().items(), cp.state_dict().values()
    ):
        torch.testing.assert_close(b, a, msg=name)


def test_with_cp_trains_the_stem_from_an_image_without_grad():
    model = LiteHRNet(arch='naive-18', with_cp=True).train()
    model(torch.randn(2, 3, 64, 64))[0].mean().backward()
    assert model.stem.conv1.conv.weight.grad is not None


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


def test_pretrained_init_cfg_with_prefix(tmp_path):
    source = random_weights_(LiteHRNet(arch='18'))
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['head.final_layer.weight'] = torch.zeros(17, 40, 1, 1)
    path = tmp_path / 'full_model.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = LiteHRNet(
        arch='18',
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'
        ),
    )
    model.init_weights()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, msg=name)


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


def test_pretrained_is_mmseg_s_form_of_a_pretrained_init(tmp_path):
    source = random_weights_(LiteHRNet(arch='naive-18'))
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    with pytest.warns(FutureWarning, match='pretrained is deprecated'):
        model = LiteHRNet(arch='naive-18', pretrained=str(path))
    assert model.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    model.init_weights()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, msg=name)
    # None keeps the default initialisation.
    assert LiteHRNet(pretrained=None).init_cfg == LiteHRNet().init_cfg


@pytest.mark.parametrize(
    'kwargs,error,words',
    [
        (dict(pretrained=3), TypeError, 'expected a checkpoint path'),
        (
            dict(pretrained='a.pth', init_cfg=dict(type='Kaiming')),
            ValueError,
            'both pretrained',
        ),
    ],
)
def test_bad_pretrained(kwargs, error, words):
    with pytest.raises(error, match=words):
        LiteHRNet(**kwargs)


@pytest.mark.parametrize('arch', PRESETS)
@pytest.mark.parametrize('num_groups', [4, 8])
def test_group_norm_builds_trains_and_fits_every_layer(arch, num_groups):
    """The CRW's hidden width (7, 17, 37 for Lite-HRNet-18) and the naive
    half-branches (15) are divisible by few group counts: those layers use
    the largest count below num_groups that divides their channels; all
    others use num_groups."""
    from mmcv.cnn import ConvModule

    from litehrnet_mm.models.blocks.norm import FittedGroupNorm

    model = LiteHRNet(
        arch=arch, norm_cfg=dict(type='GN', num_groups=num_groups)
    )
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert norms
    assert not any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        for m in model.modules()
    )
    for norm in norms:
        assert isinstance(norm, FittedGroupNorm)
        c = norm.num_channels
        assert c % norm.num_groups == 0
        if c % num_groups == 0:
            assert norm.num_groups == num_groups
        else:
            assert norm.num_groups == max(
                g for g in range(1, num_groups) if c % g == 0
            )
    # ConvModule names a GroupNorm 'gn', as with mmcv's own GN.
    assert any(
        hasattr(m, 'gn') for m in model.modules() if isinstance(m, ConvModule)
    )
    model.init_weights()
    out = model(torch.rand(2, 3, 64, 48))[0]
    out.mean().backward()
    assert torch.isfinite(out).all()


def test_group_norm_states_its_fitted_layers():
    from litehrnet_mm.models.blocks.norm import fitted_layers

    model = LiteHRNet(arch='18', norm_cfg=dict(type='GN', num_groups=4))
    fitted = dict((name, (c, g)) for name, c, g in fitted_layers(model))
    crw = 'stage0.0.layers.0.cross_resolution_weighting.conv1.gn'
    # (20 + 40) / 8 = 7 channels: one group.
    assert fitted[crw] == (7, 1)


@pytest.mark.parametrize('num_groups', [0, -2, 2.5, None])
def test_group_norm_needs_a_positive_group_count(num_groups):
    cfg = dict(type='GN')
    if num_groups is not None:
        cfg['num_groups'] = num_groups
    with pytest.raises(ValueError, match="dict\\(type='GN', num_groups=4\\)"):
        LiteHRNet(arch='naive-18', norm_cfg=cfg)
