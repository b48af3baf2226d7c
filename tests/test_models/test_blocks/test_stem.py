"""The stem: 1/4 resolution, the channels it declares, and the two paths
of its shuffle block concatenated and shuffled."""

import pytest
import torch

from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.shuffle import channel_shuffle
from litehrnet_mm.models.blocks.stem import Stem


@pytest.mark.parametrize(
    'stem_channels, out_channels, expand_ratio',
    [(32, 32, 1), (16, 24, 0.5), (16, 16, 2)],
)
@pytest.mark.parametrize('size', [(64, 48), (17, 9)])
def test_quarter_resolution_and_declared_channels(
    stem_channels, out_channels, expand_ratio, size
):
    stem = Stem(3, stem_channels, out_channels, expand_ratio).eval()
    assert stem.out_channels == out_channels
    hidden = round(stem_channels * expand_ratio)
    assert stem.expand_conv.conv.out_channels == hidden
    with torch.no_grad():
        out = stem(torch.rand(1, 3, *size))
    expected = [((s + 1) // 2 + 1) // 2 for s in size]  # two ceil-halvings
    assert tuple(out.shape) == (1, out_channels, *expected)


def test_the_two_paths_written_out():
    stem = random_weights_(Stem(3, 16, 24, 1)).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        x1, x2 = stem.conv1(x).chunk(2, dim=1)
        first = stem.branch1(x1)
        second = stem.linear_conv(stem.depthwise_conv(stem.expand_conv(x2)))
        expected = channel_shuffle(torch.cat((first, second), dim=1), 2)
        got = stem(x)
    # out_channels != stem_channels: the second path keeps all 16 stem
    # channels, the first makes up the other 8.
    assert first.shape[1] == 8 and second.shape[1] == 16
    assert torch.equal(got, expected)


def test_with_cp_same_output_and_gradients():
    torch.manual_seed(0)
    plain = random_weights_(Stem(3, 32, 32, 1)).train()
    cp = Stem(3, 32, 32, 1, with_cp=True).train()
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, cp):
        model(x).pow(2).mean().backward()
    for (name, p), q in zip(plain.named_parameters(), cp.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)
