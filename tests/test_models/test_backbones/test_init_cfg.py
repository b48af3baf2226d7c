"""The backbone's initialization (models/backbones/init_cfg.py): the
official default, a ``Pretrained`` init_cfg with a prefix, and mmseg's
``pretrained`` turned into one."""

import pytest
import torch
import torch.nn as nn

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.backbones.init_cfg import (
    DEFAULT_INIT_CFG,
    resolve_init_cfg,
)


def test_the_default_is_the_official_initialisation():
    model = LiteHRNet(arch='naive-18')
    assert model.init_cfg == DEFAULT_INIT_CFG
    model.init_weights()
    # The stem's ConvModules re-draw their convs in their own
    # init_weights (mmcv's kaiming init, which runs after the backbone's).
    convs = [
        m
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and not name.startswith('stem.')
    ]
    assert len(convs) > 200
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.std().item() - 0.001) < 1e-4
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(bool((m.weight == 1).all()) for m in norms)


def test_resolve_keeps_init_cfg_without_pretrained():
    mine = dict(type='Kaiming', layer='Conv2d')
    assert resolve_init_cfg(mine, None) is mine
    assert resolve_init_cfg(None, None) is None
    with pytest.warns(FutureWarning, match='pretrained is deprecated'):
        assert resolve_init_cfg(None, 'a.pth') == dict(
            type='Pretrained', checkpoint='a.pth'
        )


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
    # One state_dict, not one per entry (that was 20 s of the test).
    loaded = model.state_dict()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(loaded[name], value, msg=name)


def test_pretrained_is_mmseg_s_form_of_a_pretrained_init(tmp_path):
    source = random_weights_(LiteHRNet(arch='naive-18'))
    path = tmp_path / 'backbone.pth'
    torch.save(source.state_dict(), path)
    with pytest.warns(FutureWarning, match='pretrained is deprecated'):
        model = LiteHRNet(arch='naive-18', pretrained=str(path))
    assert model.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    model.init_weights()
    # One state_dict, not one per entry (that was 20 s of the test).
    loaded = model.state_dict()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(loaded[name], value, msg=name)
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
