"""Folding the BatchNorms outside the backbone (a heatmap head's deconv
layers), which the ONNX exporter leaves in the graph: same function, no
BatchNormalization node left."""

import copy

import pytest
import torch
import torch.nn as nn

from litehrnet_mm.deploy.fold import fold_norms_, fold_transposed_conv_bn
from litehrnet_mm.deploy.onnx import write_onnx


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


def test_export_refuses_the_unfolded_head_and_takes_the_folded(tmp_path):
    # write_onnx feeds 3-channel images.
    model = nn.Sequential(nn.Conv2d(3, 8, 1), *head())
    with pytest.raises(RuntimeError, match='BatchNormalization'):
        write_onnx(model.eval(), (5, 7), str(tmp_path / 'b.onnx'))
    fold_norms_(model)
    write_onnx(model, (5, 7), str(tmp_path / 'c.onnx'))


def test_grouped_transposed_conv_is_refused():
    conv = nn.ConvTranspose2d(4, 4, 2, groups=2)
    with pytest.raises(ValueError, match='groups'):
        fold_transposed_conv_bn(conv, nn.BatchNorm2d(4).eval())
