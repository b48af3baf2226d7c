"""The multi-resolution fusion against the formula of its docstring,
written out as a direct sum, and the layers ``f_ij`` it sums."""

import torch

from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.models.blocks.fusion import (
    FuseDown,
    FuseUp,
    build_fuse_layers,
    fuse,
)

CHANNELS = [4, 8, 16]
# Branch sizes that do not divide each other (a 50x34 input).
SIZES = [(13, 9), (7, 5), (4, 3)]


def fuse_layers():
    layers = build_fuse_layers(CHANNELS, None, dict(type='BN'))
    return random_weights_(layers).eval()


def inputs():
    gen = torch.Generator().manual_seed(1)
    return [
        torch.randn(2, c, *s, generator=gen) for c, s in zip(CHANNELS, SIZES)
    ]


def test_layers_bring_each_branch_to_each_other():
    layers = fuse_layers()
    x = inputs()
    with torch.no_grad():
        for i, row in enumerate(layers):
            for j, f in enumerate(row):
                if i == j:
                    assert f is None
                    continue
                assert isinstance(f, FuseUp if j > i else FuseDown)
                if j < i:  # one stride-2 step per halving
                    assert len(f) == i - j
                out = f(x[j], SIZES[i])
                assert out.shape == (2, CHANNELS[i], *SIZES[i])


def test_fusion_is_the_formula_of_its_docstring():
    """y0 = 2 x0 + sum_{j>=1} f_0j(x_j); out_0 = y0;
    out_i = 2 f_i0(y0) + x_i + sum_{j>=1, j!=i} f_ij(x_j) (ReLU later)."""
    layers = fuse_layers()
    x = inputs()

    def f(i, j, source):
        return layers[i][j](source, SIZES[i])

    with torch.no_grad():
        got = fuse(layers, x)
        y0 = 2 * x[0] + f(0, 1, x[1]) + f(0, 2, x[2])
        expected = [
            y0,
            2 * f(1, 0, y0) + x[1] + f(1, 2, x[2]),
            2 * f(2, 0, y0) + f(2, 1, x[1]) + x[2],
        ]
    assert len(got) == 3
    for out, ref in zip(got, expected):
        torch.testing.assert_close(out, ref)
    # Not the fusion without the official aliasing: output 1 would read
    # x0, output 0 would hold x0 once.
    with torch.no_grad():
        plain = 2 * f(1, 0, x[0]) + x[1] + f(1, 2, x[2])
    assert (got[1] - plain).abs().max() > 1e-2
