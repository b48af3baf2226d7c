"""deploy/fold.py: BatchNorm folded into the conv before it computes what
the pair computed (float64, so only the algebra is compared), and what
cannot be folded is refused with the reason."""

import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from litehrnet_mm.deploy.fold import (
    block_diagonal,
    conv_act,
    fold_conv_bn,
    fold_conv_module,
    fold_norms_,
    fold_sequential,
    fold_transposed_conv_bn,
)
from litehrnet_mm.deploy.onnx import write_onnx


def _bn(channels, affine=True, seed=0):
    """A BN in eval mode with statistics and affine parameters far from the
    identity, so that a missed term shows."""
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm2d(channels, eps=1e-3, affine=affine).double()
    bn.running_mean = torch.randn(channels, generator=g).double()
    bn.running_var = torch.rand(channels, generator=g).double() + 0.5
    if affine:
        with torch.no_grad():
            bn.weight.copy_(torch.randn(channels, generator=g))
            bn.bias.copy_(torch.randn(channels, generator=g))
    return bn.eval()


def _x(channels=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, channels, 9, 7, generator=g).double()


@pytest.mark.parametrize(
    'conv',
    [
        dict(kernel_size=3, padding=1, bias=False),
        dict(kernel_size=3, stride=2, padding=1, bias=True),
        dict(kernel_size=3, padding=2, dilation=2, groups=4, bias=False),
        dict(kernel_size=1, bias=True),
    ],
    ids=['3x3', 'strided+bias', 'dilated depthwise', '1x1+bias'],
)
@pytest.mark.parametrize('affine', [True, False])
def test_folded_conv_computes_bn_of_conv(conv, affine):
    c = nn.Conv2d(4, 8 if conv.get('groups', 1) == 1 else 4, **conv)
    c = c.double().eval()
    bn = _bn(c.out_channels, affine)
    x = _x()
    folded = fold_conv_bn(c, bn, scale=0.5)
    assert folded.bias is not None
    assert (folded.stride, folded.padding, folded.groups) == (
        c.stride,
        c.padding,
        c.groups,
    )
    torch.testing.assert_close(folded(x), 0.5 * bn(c(x)), rtol=0, atol=1e-12)


def test_folding_without_bn_keeps_the_conv_and_adds_a_zero_bias():
    c = nn.Conv2d(4, 6, 3, padding=1, bias=False).double()
    folded = fold_conv_bn(c)
    assert torch.equal(folded.bias, torch.zeros(6, dtype=torch.float64))
    torch.testing.assert_close(folded(_x()), c(_x()), rtol=0, atol=1e-12)


def test_folding_leaves_the_original_layers_alone():
    c = nn.Conv2d(4, 6, 3, bias=True).double()
    bn = _bn(6)
    before = [t.clone() for t in (c.weight, c.bias, bn.running_mean)]
    fold_conv_bn(c, bn, scale=3.0)
    after = (c.weight, c.bias, bn.running_mean)
    assert all(torch.equal(b, a) for b, a in zip(before, after))


def test_what_cannot_be_folded_is_named():
    with pytest.raises(TypeError, match='cannot fold a Linear'):
        fold_conv_bn(nn.Linear(2, 2))
    no_stats = nn.BatchNorm2d(6, track_running_stats=False)
    with pytest.raises(TypeError, match='BatchNorm layer with running'):
        fold_conv_bn(nn.Conv2d(4, 6, 1), no_stats)


def _conv_module(act, order=('conv', 'norm', 'act')):
    module = ConvModule(
        4,
        6,
        3,
        padding=1,
        norm_cfg=dict(type='BN'),
        act_cfg=None if act is None else dict(type=act),
        order=order,
    ).double()
    module.bn = _bn(6)  # ConvModule names its norm layer 'bn'
    return module.eval()


@pytest.mark.parametrize(
    'act, expected',
    [('ReLU', 'relu'), ('Sigmoid', 'sigmoid'), (None, None)],
)
def test_conv_module_folds_with_its_activation(act, expected):
    module = _conv_module(act)
    conv, name = fold_conv_module(module)
    assert name == expected
    seq = conv_act(module)
    assert len(seq) == (1 if act is None else 2)
    x = _x()
    torch.testing.assert_close(seq(x), module(x), rtol=0, atol=1e-12)


def test_conv_module_of_another_order_or_activation_is_refused():
    with pytest.raises(ValueError, match="expected \\('conv', 'norm', 'act'"):
        fold_conv_module(_conv_module('ReLU', order=('norm', 'conv', 'act')))
    with pytest.raises(TypeError, match='unsupported activation GELU'):
        fold_conv_module(_conv_module('GELU'))


def test_sequence_folds_every_pair_and_scales_the_last_conv():
    seq = nn.Sequential(
        nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False),
        _bn(4, seed=2),
        nn.Sequential(nn.Conv2d(4, 6, 1, bias=False), _bn(6, seed=3)),
        nn.ReLU(),
        nn.Conv2d(6, 6, 1),
    ).double()
    seq.eval()
    folded = fold_sequential(seq, scale=2.0)
    kinds = [type(m).__name__ for m in folded]
    assert kinds == ['Conv2d', 'Conv2d', 'ReLU', 'Conv2d']
    x = _x()
    torch.testing.assert_close(folded(x), 2.0 * seq(x), rtol=0, atol=1e-12)


def test_sequence_with_other_layers_or_a_scale_past_relu_is_refused():
    with pytest.raises(TypeError, match='cannot fold a Dropout'):
        fold_sequential(nn.Sequential(nn.Conv2d(4, 4, 1), nn.Dropout()))
    with pytest.raises(ValueError, match='cannot scale past a ReLU'):
        fold_sequential(
            nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU()), scale=2.0
        )


def test_block_diagonal_does_the_work_of_the_parts():
    torch.manual_seed(0)
    parts = [
        nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.Sigmoid()).double()
        for c_in, c_out in ((2, 3), (4, 1), (3, 5))
    ]
    merged = block_diagonal(parts)
    assert merged[0].in_channels == 9 and merged[0].out_channels == 9
    assert isinstance(merged[1], nn.Sigmoid)
    x = _x(channels=9)
    expected = torch.cat(
        [p(chunk) for p, chunk in zip(parts, x.split([2, 4, 3], dim=1))], 1
    )
    torch.testing.assert_close(merged(x), expected, rtol=0, atol=1e-12)
    # Off the diagonal blocks the weight is zero: no group reads another.
    w = merged[0].weight[:, :, 0, 0]
    assert torch.count_nonzero(w[:3, 2:]) == 0
    assert torch.count_nonzero(w[3:4, :2]) == 0


def test_block_diagonal_refuses_mixed_parts():
    relu = nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU())
    plain = nn.Sequential(nn.Conv2d(2, 2, 1))
    wide = nn.Sequential(nn.Conv2d(2, 2, 3), nn.ReLU())
    for parts in ([relu, plain], [relu, wide]):
        with pytest.raises(ValueError, match='expected 1x1 convs'):
            block_diagonal(parts)


# The BatchNorms outside the backbone (a heatmap head's deconv layers),
# which the ONNX exporter leaves in the graph: same function, no
# BatchNormalization node left.
def head(bias=False):
    """The shape of mmpose's HeatmapHead with one deconv layer."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(
            nn.ConvTranspose2d(8, 6, 4, 2, 1, bias=bias),
            nn.BatchNorm2d(6),
            nn.ReLU(),
        ),
        nn.Conv2d(6, 5, 1),
    )
    bn = model[0][1]
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    return model.eval()


@pytest.mark.parametrize('bias', [False, True])
def test_same_function_in_float64(bias):
    model = head(bias).double()
    folded = copy.deepcopy(model)
    assert fold_norms_(folded) == 1
    assert isinstance(folded[0][1], nn.Identity)
    x = torch.randn(2, 8, 5, 7, dtype=torch.float64)
    with torch.no_grad():
        assert (folded(x) - model(x)).abs().max().item() < 1e-12


def test_the_folded_head_exports_with_no_norm_left(tmp_path):
    """The ONNX exporter folds no BN after a transposed conv; fold_norms_
    does. (With a Lite-HRNet in the model, one left is refused:
    tests/test_deploy/test_onnx.py.)"""
    import onnx

    def norms(file):
        return [n for n in onnx.load(file).graph.node if 'Norm' in n.op_type]

    # write_onnx feeds 3-channel images.
    model = nn.Sequential(nn.Conv2d(3, 8, 1), *head()).eval()
    assert norms(write_onnx(model, (5, 7), str(tmp_path / 'b.onnx')))
    fold_norms_(model)
    assert not norms(write_onnx(model, (5, 7), str(tmp_path / 'c.onnx')))


def test_grouped_transposed_conv_is_refused():
    conv = nn.ConvTranspose2d(4, 4, 2, groups=2)
    with pytest.raises(ValueError, match='groups'):
        fold_transposed_conv_bn(conv, nn.BatchNorm2d(4).eval())
