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


def test_outputs_above_the_highest_kept_are_left_out_bitwise():
    head = IterativeHead((8, 16, 32)).eval()
    x = [torch.rand(1, c, s, s) for c, s in zip((8, 16, 32), (8, 4, 2))]
    with torch.no_grad():
        full = head(x)
    unread = head.unread_outputs({1, 2})
    assert unread == {'projects.2': head.projects[2]}  # branch 0's
    assert set(head.unread_outputs({2})) == {'projects.1', 'projects.2'}
    assert head.unread_outputs({0}) == {}
    head.projects[2] = None
    with torch.no_grad():
        out = head([None] + x[1:])
    assert out[0] is None
    assert torch.equal(out[1], full[1]) and torch.equal(out[2], full[2])
