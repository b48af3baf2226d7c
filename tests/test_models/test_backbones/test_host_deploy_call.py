"""The hosts' deploy call: mmpose's ``model.switch_to_deploy()`` calls
``layer.switch_to_deploy(self.test_cfg)`` on every submodule that has the
method. Our backbone takes test_cfg there, ignores it, and chooses its own
layout (channels-last), whatever test_cfg holds."""

import copy

import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from tests.test_models.hosts import topdown_pose_model


def channels_last(module):
    convs = [p for p in module.parameters() if p.dim() == 4]
    return bool(convs) and all(
        p.is_contiguous(memory_format=torch.channels_last) for p in convs
    )


@pytest.mark.parametrize(
    'test_cfg',
    [None, {}, dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)],
)
def test_the_pose_model_s_deploy_call_switches_our_backbone(test_cfg):
    model = topdown_pose_model(
        arch='naive-18', input_size=(48, 64), test_cfg=test_cfg
    ).eval()
    random_weights_(model.backbone)
    eager = copy.deepcopy(model.backbone)
    model.switch_to_deploy()
    backbone = model.backbone
    assert backbone.deployed
    assert channels_last(backbone)  # our layout, not test_cfg's truth
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        (got,), (expected,) = backbone(x), eager(x)
    assert got.is_contiguous(memory_format=torch.channels_last)
    # float32 rounding of the folded BN only (random weights: outputs of
    # order 10).
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() <= 5e-5 * max(2.0, scale)


def test_the_layout_is_keyword_only():
    model = LiteHRNet(arch='naive-18')
    assert not channels_last(
        copy.deepcopy(model).switch_to_deploy(
            {'flip_test': True}, channels_last=False
        )
    )
    assert channels_last(copy.deepcopy(model).switch_to_deploy({}))
    with pytest.raises(TypeError, match='keyword only'):
        model.switch_to_deploy(False)
    assert not model.deployed
