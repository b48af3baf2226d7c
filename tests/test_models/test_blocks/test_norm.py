"""GroupNorm for any channel count: each layer takes the largest group
count, at most num_groups, that divides its channels, and says so."""

import pytest
import torch

from litehrnet_mm import ArchError, LiteHRNet
from litehrnet_mm.models.blocks.norm import (
    FittedGroupNorm,
    fit_group_norm,
    fitted_layers,
)
from tests.conftest import PRESETS


@pytest.mark.parametrize(
    'channels, wanted, groups', [(32, 4, 4), (15, 4, 3), (7, 4, 1), (2, 8, 2)]
)
def test_the_largest_dividing_group_count(channels, wanted, groups):
    norm = FittedGroupNorm(channels, wanted)
    assert (norm.num_groups, norm.requested_groups) == (groups, wanted)
    x = torch.randn(2, channels, 3, 3)
    expected = torch.nn.functional.group_norm(
        x, groups, norm.weight, norm.bias, norm.eps
    )
    assert torch.equal(norm(x), expected)
    assert set(dict(norm.named_parameters())) == {'weight', 'bias'}


def test_only_group_norm_is_replaced():
    bn = dict(type='BN', requires_grad=True)
    assert fit_group_norm(bn) is bn
    assert fit_group_norm(None) is None
    gn = fit_group_norm(dict(type='GN', num_groups=4))
    assert gn == dict(type=FittedGroupNorm, num_groups=4)
    with pytest.raises(ArchError, match='no num_groups'):
        fit_group_norm(dict(type='GN'))


@pytest.mark.parametrize('arch', PRESETS)
@pytest.mark.parametrize('num_groups', [4, 8])
def test_group_norm_builds_trains_and_fits_every_layer(arch, num_groups):
    """The CRW's hidden width (7, 17, 37 for Lite-HRNet-18) and the naive
    half-branches (15) are divisible by few group counts: those layers use
    the largest count below num_groups that divides their channels; all
    others use num_groups."""
    from mmcv.cnn import ConvModule

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
