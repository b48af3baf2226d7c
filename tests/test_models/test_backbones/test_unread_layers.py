"""Branches nobody reads: whatever out_indices is, every backbone parameter
gets a gradient in a training step (DDP needs no find_unused_parameters);
the layers left out cost nothing else, and checkpoints with them load."""

import copy
import warnings

import pytest
import torch

from litehrnet_mm import CheckpointError, LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_


def training_step(model, out_indices):
    model.train()
    outs = model(torch.randn(2, 3, 64, 48))
    assert len(outs) == len(out_indices)
    sum(o.pow(2).mean() for o in outs).backward()
    return outs


@pytest.mark.parametrize(
    'out_indices', [(3,), (0,), (0, 1, 2, 3), (1, 2), (2,)]
)
@pytest.mark.parametrize(
    'arch, with_head',
    [('18', True), ('naive-18', True), ('18', False), ('naive-18', False)],
)
def test_every_parameter_gets_a_gradient(arch, with_head, out_indices):
    model = LiteHRNet(arch=arch, with_head=with_head, out_indices=out_indices)
    training_step(model, out_indices)
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, unused


def test_with_cp_and_frozen_stages_too():
    model = LiteHRNet(arch='18', out_indices=(3,), with_cp=True)
    training_step(model, (3,))
    assert all(p.grad is not None for p in model.parameters())
    model = LiteHRNet(arch='18', out_indices=(2,), frozen_stages=1)
    training_step(model, (2,))
    for name, p in model.named_parameters():
        assert (p.grad is None) == (not p.requires_grad), name


def test_what_is_left_out():
    """(3,): the head's three upper projections and the last fusion's
    outputs 1 and 2 (output 0 stays: every output reads it). The default,
    (0,) with the head, and (0, 1, 2, 3) build every layer."""
    full = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))
    assert full.pruned_layers == {}
    assert LiteHRNet(arch='18').pruned_layers == {}
    model = LiteHRNet(arch='18', out_indices=(3,))
    layers = {
        '.'.join(k.split('.')[: 4 if k.startswith('head') else 5])
        for k in model.pruned_layers
    }
    assert layers == {
        'head_layer.projects.1.depthwise_conv',
        'head_layer.projects.1.pointwise_conv',
        'head_layer.projects.2.depthwise_conv',
        'head_layer.projects.2.pointwise_conv',
        'head_layer.projects.3.depthwise_conv',
        'head_layer.projects.3.pointwise_conv',
        'stage2.1.fuse_layers.1.0',
        'stage2.1.fuse_layers.1.2',
        'stage2.1.fuse_layers.1.3',
        'stage2.1.fuse_layers.2.0',
        'stage2.1.fuse_layers.2.1',
        'stage2.1.fuse_layers.2.3',
    }
    assert model.stage2[1].fuse_layers[0] is not None
    own = model.state_dict()
    assert set(full.state_dict()) == set(own) | set(model.pruned_layers)
    assert not set(own) & set(model.pruned_layers)
    params = sum(p.numel() for p in model.parameters())
    assert params < sum(p.numel() for p in full.parameters())
    # Without the head, out_indices=(0,) needs no fusion output but 0.
    no_head = LiteHRNet(arch='18', with_head=False)
    assert {'.'.join(k.split('.')[:4]) for k in no_head.pruned_layers} == {
        f'stage2.1.fuse_layers.{i}' for i in (1, 2, 3)
    }


@pytest.mark.parametrize('out_indices', [(3,), (1, 2), (0,)])
@pytest.mark.parametrize('with_head', [True, False])
def test_same_outputs_as_the_full_backbone(out_indices, with_head):
    """A full checkpoint loads strictly into the pruned backbone (its
    entries for the layers left out are dropped, with a note) and gives
    exactly the full backbone's outputs."""
    full = LiteHRNet(arch='18', with_head=with_head, out_indices=(0, 1, 2, 3))
    full = random_weights_(full).eval()
    model = LiteHRNet(arch='18', with_head=with_head, out_indices=out_indices)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        model.load_state_dict(full.state_dict())
    model.eval()
    x = torch.rand(1, 3, 64, 48)
    with torch.no_grad():
        expected = full(x)
        got = model(x)
    for i, out in zip(out_indices, got):
        assert torch.equal(out, expected[i])


def test_a_pruned_state_dict_into_a_full_backbone():
    """It lacks the layers it did not build: strict=True says which,
    strict=False loads the rest."""
    pruned = LiteHRNet(arch='18', out_indices=(3,)).state_dict()
    full = LiteHRNet(arch='18')
    with pytest.raises(CheckpointError, match='missing'):
        full.load_state_dict(pruned)
    with pytest.warns(UserWarning, match='missing .*stage2.1.fuse_layers.1'):
        result = full.load_state_dict(pruned, strict=False)
    assert set(result.missing_keys) == {
        k
        for k in LiteHRNet(arch='18', out_indices=(3,)).pruned_layers
        if not k.endswith('num_batches_tracked')
    }


def test_through_mmengine_with_a_note(tmp_path):
    from mmengine.logging import MMLogger
    from mmengine.runner import load_checkpoint

    class Wrapper(torch.nn.Module):
        def __init__(self, out_indices):
            super().__init__()
            self.backbone = LiteHRNet(arch='18', out_indices=out_indices)

    source = random_weights_(Wrapper((0,)))
    path = tmp_path / 'full.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    notes = []
    handler = _Keep(notes)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        model = Wrapper((3,))
        load_checkpoint(model, str(path), strict=True)
    finally:
        logger.removeHandler(handler)
    (note,) = [n for n in notes if 'does not build' in n]
    assert str(path) in note
    assert "under 'backbone.'" in note and 'out_indices=(3,)' in note
    expected = source.state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(value, expected[name]), name


class _Keep(__import__('logging').Handler):
    def __init__(self, into):
        super().__init__()
        self.into = into

    def emit(self, record):
        self.into.append(record.getMessage())


def test_deploy_form_of_a_pruned_backbone():
    full = random_weights_(LiteHRNet(arch='18', out_indices=(0, 1, 2, 3)))
    model = LiteHRNet(arch='18', out_indices=(3, 1))
    model.load_state_dict(full.state_dict())
    model = model.double().eval()
    deployed = copy.deepcopy(model).switch_to_deploy(channels_last=False)
    x = torch.rand(1, 3, 64, 48, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(model(x), deployed(x)):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-9)
