"""Cross-resolution and spatial weighting against references written out
by hand, at branch sizes that do not divide each other."""

import math

import torch

from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.weighting import (
    CrossResolutionWeighting,
    SpatialWeighting,
)

# The branch sizes of a 50x34 input (each ceil(n / 2) of the one above).
SIZES = [(13, 9), (7, 5), (4, 3)]


def windows(n_in, n_out):
    """The input rows adaptive average pooling averages for each output
    row: [floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out))."""
    return [
        (i * n_in // n_out, math.ceil((i + 1) * n_in / n_out))
        for i in range(n_out)
    ]


def pool_to(x, size):
    h, w = x.shape[-2:]
    out = torch.empty(*x.shape[:2], *size)
    for i, (r0, r1) in enumerate(windows(h, size[0])):
        for j, (c0, c1) in enumerate(windows(w, size[1])):
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(dim=(-2, -1))
    return out


def nearest_to(x, size):
    """Output row r reads input row floor(r * n_in / n_out)."""
    rows = [r * x.shape[-2] // size[0] for r in range(size[0])]
    cols = [c * x.shape[-1] // size[1] for c in range(size[1])]
    return x[..., rows, :][..., cols]


def test_windows_overlap_where_sizes_do_not_divide():
    assert windows(13, 4) == [(0, 4), (3, 7), (6, 10), (9, 13)]


def test_cross_resolution_weighting_by_hand():
    channels = [4, 8, 12]
    crw = random_weights_(CrossResolutionWeighting(channels, ratio=4))
    crw.eval()
    x = [torch.randn(2, c, *s) for c, s in zip(channels, SIZES)]
    smallest = SIZES[-1]
    with torch.no_grad():
        got = crw(x)
        mixed = torch.cat([pool_to(s, smallest) for s in x], dim=1)
        hidden = torch.relu(crw.conv1.norm(crw.conv1.conv(mixed)))
        weights = torch.sigmoid(crw.conv2.norm(crw.conv2.conv(hidden)))
    assert weights.shape == (2, sum(channels), *smallest)
    start = 0
    for s, c, out in zip(x, channels, got):
        w = weights[:, start : start + c]
        start += c
        assert out.shape == s.shape
        torch.testing.assert_close(out, s * nearest_to(w, s.shape[-2:]))


def test_cross_resolution_weighting_hidden_width():
    crw = CrossResolutionWeighting([40, 80, 160, 320], ratio=8)
    assert crw.conv1.conv.out_channels == 600 // 8
    assert crw.conv2.conv.out_channels == 600


def test_spatial_weighting_by_hand():
    sw = random_weights_(SpatialWeighting(16, ratio=4)).eval()
    assert sw.conv1.conv.out_channels == 4
    x = torch.randn(2, 16, *SIZES[0])
    with torch.no_grad():
        mean = x.mean(dim=(-2, -1), keepdim=True)
        hidden = torch.relu(sw.conv1.conv(mean))
        expected = x * torch.sigmoid(sw.conv2.conv(hidden))
        torch.testing.assert_close(sw(x), expected)
