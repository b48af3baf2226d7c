"""LiteHRNet against mmpose's port, the oracle: the same state dicts, and
with the same weights the same outputs and gradients."""

import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.backbones.arch import arch_to_extra
from tests.conftest import PRESETS

mmpose_backbones = pytest.importorskip('mmpose.models.backbones')


def port_of(arch, training=True):
    """mmpose's LiteHRNet with the architecture of one of our presets (its
    ``train()`` and ``eval()`` return None, so the mode is set here)."""
    port = mmpose_backbones.LiteHRNet(extra=arch_to_extra(arch))
    port.train(training)
    return port


def capture_branches(port):
    """mmpose's port returns only branch 0; hook the last module that sees
    every branch to compare the others too."""
    seen = {}
    last = (
        port.head_layer
        if port.with_head
        else getattr(port, f'stage{port.num_stages - 1}')
    )
    last.register_forward_hook(lambda m, i, o: seen.update(out=o))
    return seen


@pytest.mark.parametrize('arch', PRESETS)
def test_state_dicts_load_both_ways_strictly(arch):
    ours, port = LiteHRNet(arch=arch), port_of(arch)
    assert list(ours.state_dict()) == list(port.state_dict())
    ours.load_state_dict(port.state_dict(), strict=True)
    port.load_state_dict(ours.state_dict(), strict=True)


@pytest.mark.parametrize('arch', PRESETS)
def test_outputs_equal_the_port(arch):
    torch.manual_seed(0)
    port = random_weights_(port_of(arch, training=False))
    ours = LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)).eval()
    ours.load_state_dict(port.state_dict())
    seen = capture_branches(port)
    x = torch.randn(2, 3, 256, 192)
    with torch.no_grad():
        (expected0,) = port(x)
        outs = ours(x)
    assert expected0.abs().mean() > 1e-2  # a comparison that means something
    assert len(outs) == 4
    for got, expected in zip(outs, seen['out']):
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, atol=1e-5, rtol=0), (
            (got - expected).abs().max()
        )
    torch.testing.assert_close(outs[0], expected0, atol=1e-5, rtol=0)


@pytest.mark.parametrize('arch', ['18', 'naive-18'])
def test_training_step_equals_the_port(arch):
    """Same batch-statistics outputs and the same gradients in train mode."""
    port = random_weights_(port_of(arch))
    ours = LiteHRNet(arch=arch).train()
    ours.load_state_dict(port.state_dict())
    x = torch.randn(2, 3, 128, 96)
    (expected,) = port(x)
    (got,) = ours(x)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    expected.pow(2).mean().backward()
    got.pow(2).mean().backward()
    port_grads = dict(port.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(
            p.grad, port_grads[name].grad, atol=1e-5, rtol=1e-4, msg=name
        )
