"""The deferred shuffles of OpenVINO's form (deploy/deferred.py): LITE
modules with no split, concatenation or shuffle inside compute the deploy
form's function (float64, so that only a wrong rewrite could show), and
the traced graph permutes only where nothing can absorb the order."""

import copy

import numpy as np
import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.blocks import DeployCCW, defer_shuffles_
from litehrnet_mm.deploy.deferred import (
    SATURATED,
    WideCCW,
    block_layouts,
    order_of,
    permute_layer_,
)
from litehrnet_mm.deploy.onnx import write_onnx
from litehrnet_mm.deploy.ops import openvino_form
from litehrnet_mm.models.backbones.arch import arch_to_extra
from litehrnet_mm.models.blocks.shuffle import channel_shuffle
from litehrnet_mm.models.blocks.weighting import ConditionalChannelWeighting


def _extra(num_blocks):
    """Arch 18 with ``num_blocks`` blocks per module (three blocks
    fragment the channel orders further than the presets' two)."""
    extra = copy.deepcopy(arch_to_extra('18'))
    extra['stages_spec']['num_blocks'] = num_blocks
    extra['stages_spec']['num_modules'] = (1, 2, 1)
    return extra


def deployed(out_indices=(0,), **kwargs):
    model = LiteHRNet(out_indices=out_indices, **kwargs)
    model = random_weights_(model).double().eval()
    return model.switch_to_deploy(channels_last=False)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(arch='18'),
        dict(arch='18', out_indices=(0, 1, 2, 3)),
        dict(extra=_extra((3, 1, 3))),
        dict(arch='naive-18'),
    ],
    ids=['18', '18-all-branches', 'three-blocks', 'naive-left-alone'],
)
@pytest.mark.parametrize('size', [(64, 48), (97, 83)])
def test_same_function_in_float64(kwargs, size):
    model = deployed(**kwargs)
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    with torch.no_grad():
        expected = model(x)
        got = defer_shuffles_(copy.deepcopy(model))(x)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert (g - e).abs().max().item() < 1e-10 * e.abs().max().item()


def test_block_layouts_follow_the_shuffles():
    """Each block keeps the first half of its logical input, replaces the
    second by new values and shuffles: the physical channels, updated in
    place, hold what the layouts say, block after block."""
    half, blocks = 6, 3
    layouts, last = block_layouts(tuple(range(2 * half)), blocks)
    logical = torch.arange(2.0 * half).reshape(1, -1, 1, 1)
    physical = logical.flatten().tolist()
    for k, after in enumerate(layouts[1:] + [last]):
        shift = 1000.0 * (k + 1)  # the weighed values are new ones
        kept, weighed = logical.split(half, 1)
        logical = channel_shuffle(torch.cat((kept, weighed + shift), 1), 2)
        before = layouts[k]
        physical = [
            v if before[p] < half else v + shift
            for p, v in enumerate(physical)
        ]
        assert physical == [logical.flatten()[c].item() for c in after]
    order = order_of(last)
    assert [last[p] for p in order] == list(range(2 * half))


def test_the_kept_half_passes_through_exactly():
    """A WideCCW leaves the kept channels bit for bit, float32 included:
    times an exact 1 (the saturated sigmoid), through an identity
    kernel."""
    model = LiteHRNet(arch='18', out_indices=(0,))
    random_weights_(model)
    block = next(
        m
        for m in model.modules()
        if isinstance(m, ConditionalChannelWeighting)
    )
    deploy = DeployCCW(block.eval())
    wide = WideCCW(deploy, [tuple(range(2 * c)) for c in deploy.channels])
    x = [
        torch.randn(1, 2 * c, 64 // 2**i, 48 // 2**i)
        for i, c in enumerate(deploy.channels)
    ]
    with torch.no_grad():
        out = wide(x)
        expected = deploy(x)
    for o, e, s, c in zip(out, expected, x, deploy.channels):
        assert torch.equal(o[:, :c], s[:, :c])
        # The deploy block's output is the shuffle of the same halves.
        assert torch.allclose(channel_shuffle(o, 2), e, atol=1e-5)
    for dtype in (torch.float32, torch.bfloat16):
        assert torch.sigmoid(torch.tensor(SATURATED, dtype=dtype)) == 1


def test_a_term_ending_in_a_depthwise_conv_is_refused():
    dw = torch.nn.Conv2d(4, 4, 3, padding=1, groups=4)
    with pytest.raises(ValueError, match='depthwise'):
        permute_layer_(dw, (1, 0, 3, 2), (1, 0, 3, 2))


def _permutation_convs(graph):
    """The Conv nodes whose weight is a 0/1 matrix with one 1 per row and
    column (the traced permutations)."""
    import onnx.numpy_helper as nh

    weights = {t.name: nh.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == 'Constant' and node.attribute[0].name == 'value':
            weights[node.output[0]] = nh.to_array(node.attribute[0].t)
    found = 0
    for node in graph.node:
        w = weights.get(node.input[1]) if node.op_type == 'Conv' else None
        if w is None or w.shape[2:] != (1, 1) or w.shape[0] != w.shape[1]:
            continue
        m = w[:, :, 0, 0]
        if (
            set(np.unique(m)) <= {0.0, 1.0}
            and (m.sum(0) == 1).all()
            and (m.sum(1) == 1).all()
        ):
            found += 1
    return found


#: Two small LITE stages: 1 module of 2 blocks on 2 branches, then 2
#: modules of 2 blocks on 3 branches.
SMALL = dict(
    stem=dict(stem_channels=16, out_channels=16, expand_ratio=1),
    num_stages=2,
    stages_spec=dict(
        num_modules=(1, 2),
        num_branches=(2, 3),
        num_blocks=(2, 2),
        module_type=('LITE', 'LITE'),
        with_fuse=(True, True),
        reduce_ratios=(4, 4),
        num_channels=((8, 16), (8, 16, 32)),
    ),
    with_head=True,
)


@pytest.mark.parametrize(
    'out_indices, perms',
    # Returned branches 1 and 2 leave the head in the orders of branches
    # 0 and 1; branch 1's is the identity (four perfect shuffles of 16
    # channels), so one permutation is left.
    [((0,), 0), ((0, 1, 2), 1)],
    ids=['pose', 'all'],
)
def test_the_traced_graph_permutes_only_returned_branches(
    tmp_path, out_indices, perms
):
    """The stem's shuffle goes into the transitions' weights, each
    stage's orders into the next stage's blocks and fusions, the last
    stage's into the iterative head: a permutation is left only on a
    returned branch that the head leaves in another branch's order."""
    import onnx

    model = deployed(extra=SMALL, out_indices=out_indices).float()
    with openvino_form():
        plain = write_onnx(model, (64, 48), str(tmp_path / 'plain.onnx'))
        deferred = write_onnx(
            defer_shuffles_(copy.deepcopy(model)),
            (64, 48),
            str(tmp_path / 'deferred.onnx'),
        )
    plain, deferred = onnx.load(plain).graph, onnx.load(deferred).graph
    # The stem's shuffle, then one per block and branch (modules x blocks
    # x branches: 1x2x2 + 2x2x3).
    assert _permutation_convs(plain) == 1 + 1 * 2 * 2 + 2 * 2 * 3
    assert _permutation_convs(deferred) == perms
    ops = [n.op_type for n in deferred.node]
    assert 'Transpose' not in ops and 'GlobalAveragePool' not in ops
    # A split and a concatenation per block and branch are gone; those
    # left are on the pooled maps (the weightings' inputs and outputs)
    # and in the stem.
    splits = sum(op in ('Split', 'Concat') for op in ops)
    assert splits <= len(
        [n for n in plain.node if n.op_type in ('Split', 'Concat')]
    ) - 2 * (1 * 2 * 2 + 2 * 2 * 3)


@pytest.fixture(scope='module')
def traced_small(tmp_path_factory):
    """OpenVINO's form of the ``SMALL`` backbone traced at 64x48 (every
    branch's size a multiple of the smallest's), once for the tests that
    read it: the graph and each value's shape."""
    import onnx

    model = deployed(extra=SMALL).float()
    with openvino_form():
        file = write_onnx(
            defer_shuffles_(copy.deepcopy(model)),
            (64, 48),
            str(tmp_path_factory.mktemp('traced') / 'deferred.onnx'),
        )
    graph = onnx.shape_inference.infer_shapes(onnx.load(file)).graph
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in graph.value_info
    }
    return graph, shapes


def _stages(spec):
    """(modules, blocks per module, branches) of each stage."""
    return [
        (n, blocks, len(c))
        for n, blocks, c in zip(
            spec['num_modules'], spec['num_blocks'], spec['num_channels']
        )
    ]


def test_a_blocks_scales_go_to_the_next_blocks_pooled_maps(traced_small):
    """The spatial weighting's multiply of a block that another block of
    its module follows is left to that block, which applies its scales on
    the smallest branch's size (to the pooled maps and to the
    cross-resolution weights): per module, the blocks' full-size
    multiplies are one per block and branch (the cross-resolution
    weights) and one per branch after the last block."""
    graph, shapes = traced_small
    muls = [
        shapes[n.output[0]]
        for n in graph.node
        if n.op_type == 'Mul' and '/layers/' in n.name
    ]
    spec = SMALL['stages_spec']
    stages = _stages(spec)
    assert len(muls) == sum(
        n * (blocks * b + b + 2 * (blocks - 1)) for n, blocks, b in stages
    )
    # The carried scales multiply all branches' channels at once.
    widths = [sum(c) for c in spec['num_channels']]
    assert sum(shape[1] in widths for shape in muls) == sum(
        n * 2 * (blocks - 1) for n, blocks, _ in stages
    )


def test_a_blocks_means_come_from_the_maps_the_next_block_pools(
    traced_small,
):
    """A block that another block of its module follows pools its
    branches to the smallest size once, for the next block's
    cross-resolution weighting, and takes its spatial weighting's means
    from those pooled maps (one average pool on the small maps) instead
    of one global mean per full-size branch. Per module: the first
    block's pooling, then per block either the next block's pooling and
    one mean, or (the last) a global mean per branch."""
    graph, shapes = traced_small
    pools = [
        shapes[n.output[0]]
        for n in graph.node
        if n.op_type == 'AveragePool' and '/layers/' in n.name
    ]
    stages = _stages(SMALL['stages_spec'])
    assert len(pools) == sum(
        n * ((b - 1) + (blocks - 1) * b + b) for n, blocks, b in stages
    )
    # The means of every block but the last read all branches at once.
    widths = [sum(c) for c in SMALL['stages_spec']['num_channels']]
    assert sum(
        shape[1] in widths and shape[2:] == [1, 1] for shape in pools
    ) == sum(n * (blocks - 1) for n, blocks, _ in stages)


def test_the_stem_runs_its_two_paths_as_one(traced_small):
    """OpenVINO's stem: its first conv, then one sequence of convs for
    both paths (a 1x1 conv that copies one half and expands the other,
    one depthwise conv, one block-diagonal 1x1 conv): no split, no
    concatenation."""
    graph, _ = traced_small
    ops = [n.op_type for n in graph.node if '/stem/' in n.name]
    assert ops.count('Conv') == 4
    assert set(ops) == {'Conv', 'Relu'}


def test_a_backbone_is_deferred_once():
    model = deployed(extra=SMALL)
    once = defer_shuffles_(copy.deepcopy(model))
    twice = defer_shuffles_(copy.deepcopy(once))
    x = torch.randn(1, 3, 64, 48, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(twice(x), model(x))
