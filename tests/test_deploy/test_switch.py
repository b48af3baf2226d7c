"""switch_to_deploy: the same function as the eager model, for every
preset and several input sizes (odd ones included)."""

import copy

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from tests.conftest import PRESETS

# Divisible branch sizes (broadcast and fixed pooling paths) and odd ones
# (the interpolate and adaptive pooling fallbacks).
SIZES = [(64, 48), (97, 83)]


def max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a, b))


@pytest.mark.parametrize(
    'arch, channels_last',
    [(arch, True) for arch in PRESETS] + [('18', False), ('naive-18', False)],
)
def test_same_function_in_float64(arch, channels_last):
    """In float64 rounding vanishes: what is left would be a wrong
    rewrite."""
    model = random_weights_(LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)))
    model = model.double().eval()
    deployed = copy.deepcopy(model).switch_to_deploy(
        channels_last=channels_last
    )
    for size in SIZES:
        x = torch.randn(1, 3, *size, dtype=torch.float64)
        with torch.no_grad():
            expected, got = model(x), deployed(x)
        assert [o.shape for o in got] == [o.shape for o in expected]
        assert max_diff(got, expected) < 1e-9 * max(
            1.0, max(o.abs().max().item() for o in expected)
        ), size


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_float32_rounding_only(arch):
    model = LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3))
    model = random_weights_(model, (2, 3, 128, 96)).eval()
    deployed = copy.deepcopy(model).switch_to_deploy()
    reference = copy.deepcopy(model).double()
    x = torch.rand(1, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eager, got = model(x), deployed(x)
        exact = [o.float() for o in reference(x.double())]
    # Float32 rounding grows with the outputs (up to ~20 with these random
    # weights): the difference is within 1e-4 on outputs of order 1 and
    # within a few 1e-5 of the largest output in general, the size of the
    # eager model's own float32 error against float64.
    scale = max(o.abs().max().item() for o in exact)
    assert max_diff(got, eager) <= 5e-5 * max(2.0, scale)
    # No less accurate than the eager model itself.
    assert max_diff(got, exact) <= 2 * max_diff(eager, exact) + 1e-6


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_gradients_through_the_deploy_form(arch):
    """Inference only, but autograd still works (saliency, input
    gradients): the same gradient w.r.t. the input as the eager model's, in
    float64. The in-place ReLUs of inference stay out of autograd's way."""
    model = random_weights_(LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)))
    model = model.double().eval()
    deployed = copy.deepcopy(model).switch_to_deploy()
    grads = []
    for m in (model, deployed):
        x = torch.randn(
            1, 3, 64, 48, dtype=torch.float64,
            generator=torch.Generator().manual_seed(0),
        ).requires_grad_()  # fmt: skip
        sum(o.square().sum() for o in m(x)).backward()
        grads.append(x.grad)
    scale = grads[0].abs().max().item()
    assert (grads[1] - grads[0]).abs().max().item() < 1e-9 * max(1.0, scale)


def test_in_place_returns_self_idempotent_and_without_bn():
    model = LiteHRNet(arch='18').train()
    assert model.switch_to_deploy() is model
    assert not model.training
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert model.switch_to_deploy() is model
    out = model(torch.rand(1, 3, 64, 48))
    assert out[0].shape == (1, 40, 16, 12)


def test_traced_form_matches():
    """Tracing (ONNX export) and compiling take the functional code
    path."""
    model = random_weights_(LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)))
    model = model.double().eval()
    deployed = copy.deepcopy(model).switch_to_deploy(channels_last=False)
    for size in [(64, 48), (97, 83)]:
        x = torch.randn(1, 3, *size, dtype=torch.float64)
        with torch.no_grad():
            traced = torch.jit.trace(deployed, x, check_trace=False)
            assert max_diff(traced(x), model(x)) < 1e-8


def test_leaves_eager_models_alone():
    model = LiteHRNet(arch='18').eval()
    other = copy.deepcopy(model)
    other.switch_to_deploy()
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert not model.deployed and other.deployed


def test_deploy_setting_switches_at_the_first_eval_forward():
    """``deploy=True`` in a config: the weights load into the eager form,
    the first forward in eval mode switches, training is refused."""
    trained = random_weights_(LiteHRNet(arch='18'), (2, 3, 64, 48)).eval()
    model = LiteHRNet(arch='18', deploy=True)
    model.load_state_dict(trained.state_dict())
    assert not model.deployed
    model.eval()
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        expected = trained(x)
        got = model(x)
    assert model.deployed
    assert max_diff(got, expected) <= 1e-4 * max(
        1.0, expected[0].abs().max().item()
    )
    with pytest.raises(RuntimeError, match='deploy=False to train'):
        model.train()
    with pytest.raises(TypeError, match='deploy=1'):
        LiteHRNet(deploy=1)


@pytest.mark.parametrize(
    'norm_cfg, layer',
    [
        (dict(type='GN', num_groups=4), 'FittedGroupNorm'),
        (dict(type='IN'), 'InstanceNorm2d'),
        (dict(type='BN', track_running_stats=False), 'BatchNorm2d'),
    ],
)
def test_norms_the_deploy_form_cannot_fold(norm_cfg, layer):
    """deploy=True: refused when the backbone is built; switch_to_deploy:
    one DeployError before anything changes (the model still trains)."""
    from litehrnet_mm import ArchError, DeployError

    with pytest.raises(ArchError, match=f'stem.conv1.[a-z]+ \\({layer}\\)'):
        LiteHRNet(arch='18', norm_cfg=norm_cfg, deploy=True)
    model = LiteHRNet(arch='18', norm_cfg=norm_cfg)
    with pytest.raises(DeployError, match='cannot be folded'):
        model.switch_to_deploy()
    assert not model.deployed
    model.train()(torch.rand(2, 3, 64, 48))
    LiteHRNet(arch='18', norm_cfg=dict(type='SyncBN'), deploy=True)


def test_deploy_setting_through_a_host_config():
    """The registry builds ``deploy=True`` from a config dict; a forward in
    training mode is refused before any step (a run would switch at its
    first validation and save deploy-form checkpoints)."""
    from litehrnet_mm import ArchError
    from litehrnet_mm.registry import MODELS

    model = MODELS.build(
        dict(type='litehrnet_mm.LiteHRNet', arch='18', deploy=True)
    ).train()
    with pytest.raises(ArchError, match='deploy=False to train'):
        model(torch.rand(2, 3, 64, 48))
    assert not model.deployed
