"""Channel shuffle and the NAIVE block (ShuffleNet V2 unit)."""

import pytest
import torch

from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.shuffle import ShuffleUnit, channel_shuffle


def numbered(channels, size=(3, 2)):
    """A map whose every value is its channel index."""
    index = torch.arange(channels, dtype=torch.float32)
    return index.view(1, -1, 1, 1).expand(2, -1, *size).clone()


@pytest.mark.parametrize(
    'channels, groups, order',
    [
        (6, 2, [0, 3, 1, 4, 2, 5]),
        (6, 3, [0, 2, 4, 1, 3, 5]),
        (8, 4, [0, 2, 4, 6, 1, 3, 5, 7]),
        (4, 1, [0, 1, 2, 3]),
    ],
)
def test_channel_shuffle_interleaves_the_groups(channels, groups, order):
    out = channel_shuffle(numbered(channels), groups)
    assert out.shape == (2, channels, 3, 2)
    assert out[0, :, 0, 0].tolist() == order
    # Every channel moves as a whole: each map keeps its values.
    assert torch.equal(out, numbered(channels)[:, order])


def test_channel_shuffle_is_undone_by_the_transposed_shuffle():
    x = torch.randn(2, 12, 5, 3)
    assert torch.equal(channel_shuffle(channel_shuffle(x, 3), 4), x)


def test_shuffle_unit_keeps_half_and_transforms_half():
    """Output channel 2k is input channel k (the half passed through),
    2k + 1 is channel k of branch2 applied to the other half."""
    unit = random_weights_(ShuffleUnit(8)).eval()
    x = torch.randn(2, 8, 9, 7)
    with torch.no_grad():
        out = unit(x)
        transformed = unit.branch2(x[:, 4:])
    assert out.shape == x.shape
    assert torch.equal(out[:, 0::2], x[:, :4])
    assert torch.equal(out[:, 1::2], transformed)
    assert (out[:, 1::2] >= 0).all()  # branch2 ends with a ReLU


def test_shuffle_unit_branch_is_pointwise_depthwise_pointwise():
    """1x1 conv - BN - ReLU, 3x3 depthwise conv - BN, 1x1 conv - BN - ReLU
    on half of the channels, as in ShuffleNet V2."""
    first, depthwise, last = ShuffleUnit(8).branch2
    assert first.conv.kernel_size == (1, 1) and first.with_activation
    assert depthwise.conv.kernel_size == (3, 3)
    assert depthwise.conv.groups == depthwise.conv.in_channels == 4
    assert not depthwise.with_activation
    assert last.conv.kernel_size == (1, 1) and last.with_activation
    assert all(m.with_norm for m in (first, depthwise, last))
