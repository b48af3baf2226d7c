"""deploy/ops.py: the export-friendly pooling equals adaptive average
pooling at every size, the one-copy shuffle equals concatenate-then-shuffle
in both memory layouts, and a traced graph of either holds no shape
arithmetic."""

import pytest
import torch
import torch.nn.functional as F

from litehrnet_mm.deploy.ops import openvino_form, pool_to, shuffle_cat
from litehrnet_mm.models.blocks.shuffle import channel_shuffle


@pytest.mark.parametrize(
    'size_in, size_out',
    [
        ((16, 12), (4, 3)),  # divides: a fixed-kernel average pool
        ((17, 13), (4, 3)),  # does not: overlapping windows
        ((9, 7), (2, 5)),
        ((8, 6), (8, 6)),  # the same size: the input itself
    ],
)
def test_pool_to_is_adaptive_average_pooling(size_in, size_out):
    x = torch.randn(2, 3, *size_in, dtype=torch.float64)
    pooled = pool_to(x, size_out)
    expected = F.adaptive_avg_pool2d(x, size_out)
    torch.testing.assert_close(pooled, expected, rtol=0, atol=1e-12)
    if size_in == size_out:
        assert pooled is x


def _ops_of(fn, *inputs):
    graph = torch.jit.trace(fn, inputs).inlined_graph
    return [node.kind() for node in graph.nodes()]


@pytest.mark.parametrize('size_in', [(16, 12), (17, 13)])
def test_traced_pooling_reads_no_shapes(size_in):
    ops = _ops_of(lambda x: pool_to(x, (4, 3)), torch.randn(1, 3, *size_in))
    assert 'aten::size' not in ops
    assert 'aten::adaptive_avg_pool2d' not in ops


@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('widths', [(4, 4), (2, 6)])
def test_shuffle_cat_is_concatenate_then_shuffle(channels_last, widths):
    a = torch.randn(2, widths[0], 5, 3)
    b = torch.randn(2, widths[1], 5, 3)
    if channels_last:
        a = a.to(memory_format=torch.channels_last)
        b = b.to(memory_format=torch.channels_last)
    out = shuffle_cat(a, b)
    assert torch.equal(out, channel_shuffle(torch.cat((a, b), 1), 2))


def test_shuffle_cat_interleaves_the_halves():
    a = torch.arange(3.0).reshape(1, 3, 1, 1)
    b = torch.arange(10.0, 13.0).reshape(1, 3, 1, 1)
    assert shuffle_cat(a, b).flatten().tolist() == [0, 10, 1, 11, 2, 12]


def test_traced_shuffle_reads_no_shapes_and_keeps_the_batch_free():
    a, b = torch.randn(1, 4, 5, 3), torch.randn(1, 4, 5, 3)
    traced = torch.jit.trace(shuffle_cat, (a, b))
    assert 'aten::size' not in _ops_of(shuffle_cat, a, b)
    a3, b3 = torch.randn(3, 4, 5, 3), torch.randn(3, 4, 5, 3)
    assert torch.equal(traced(a3, b3), shuffle_cat(a3, b3))


@pytest.mark.parametrize('widths', [(4, 4), (2, 6)])
def test_traced_as_a_permutation_conv_the_shuffle_is_the_same(widths):
    a = torch.randn(2, widths[0], 5, 3)
    b = torch.randn(2, widths[1], 5, 3)
    with openvino_form():
        ops = _ops_of(shuffle_cat, a, b)
        traced = torch.jit.trace(shuffle_cat, (a, b))
    assert 'aten::_convolution' in ops and 'aten::transpose' not in ops
    assert 'aten::size' not in ops
    # One input times 1 plus zeros: exactly the shuffle.
    assert torch.equal(traced(a, b), shuffle_cat(a, b))
    # Eager calls, and traces outside the context, keep the shuffle.
    assert 'aten::transpose' in _ops_of(shuffle_cat, a, b)


def test_openvino_form_ends_with_its_block_even_on_an_error():
    a = torch.randn(1, 4, 5, 3)
    with pytest.raises(RuntimeError), openvino_form():
        raise RuntimeError('in the block')
    assert 'aten::_convolution' not in _ops_of(shuffle_cat, a, a)


def test_a_nested_openvino_form_leaves_the_outer_one_on():
    a = torch.randn(1, 4, 5, 3)
    with openvino_form():
        with openvino_form():
            pass
        assert 'aten::_convolution' in _ops_of(shuffle_cat, a, a)
    assert 'aten::_convolution' not in _ops_of(shuffle_cat, a, a)
