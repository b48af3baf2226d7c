"""The iterative head: each branch takes the channels of the one above."""

import pytest
import torch

from litehrnet_mm.models.blocks.iterative_head import IterativeHead


@pytest.mark.parametrize(
    'channels, expected',
    [
        ((40, 80, 160, 320), (40, 40, 80, 160)),
        ((30, 60, 120, 240), (30, 30, 60, 120)),
        ((8, 16), (8, 8)),
    ],
)
def test_out_channels_are_what_it_returns(channels, expected):
    head = IterativeHead(channels).eval()
    assert head.out_channels == expected
    sizes = [(13, 9), (7, 5), (4, 3), (2, 2)][: len(channels)]
    x = [torch.rand(1, c, *s) for c, s in zip(channels, sizes)]
    with torch.no_grad():
        outs = head(x)
    assert [o.shape[1] for o in outs] == list(expected)
    assert [tuple(o.shape[2:]) for o in outs] == sizes
