"""Activation checkpointing: the same results and BN statistics as without
it, checkpointing only where it applies."""

import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.activation_checkpoint import maybe_checkpoint


class Block(torch.nn.Module):
    def __init__(self, with_cp):
        super().__init__()
        self.with_cp = with_cp
        self.conv = torch.nn.Conv2d(2, 2, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(2)
        self.calls = 0

    def _forward(self, x):
        self.calls += 1
        return self.bn(self.conv(x)).relu()

    def forward(self, x):
        return maybe_checkpoint(self, self._forward, x)


def test_recomputed_in_backward_with_bn_statistics_updated_once():
    torch.manual_seed(0)
    plain, cp = Block(False).train(), Block(True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 2, 5, 5)
    for block in (plain, cp):
        block(x).sum().backward()
    assert (plain.calls, cp.calls) == (1, 2)  # forward, then backward
    with_cp = cp.state_dict()
    for name, value in plain.state_dict().items():
        torch.testing.assert_close(with_cp[name], value, msg=name)
    assert cp.bn.num_batches_tracked.item() == 1
    torch.testing.assert_close(cp.conv.weight.grad, plain.conv.weight.grad)


def test_only_in_training_with_autograd():
    block = Block(True).eval()
    # In eval mode nothing is recomputed, even in a backward (gradients of
    # a trained model's input, say).
    block(torch.randn(1, 2, 4, 4)).sum().backward()
    assert block.calls == 1
    block.train()
    with torch.no_grad():
        block(torch.randn(2, 2, 4, 4))
    assert block.calls == 2  # no recomputation to come


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
