"""ONNX export of the deploy form, checked against ONNX Runtime: the
Lite-HRNet-18 preset's graph; the batch axis, static or free, on the
phone tests' tiny Lite-HRNet (it is the same code for any size)."""

import collections

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.models import build_preset
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.onnx import export_onnx, write_onnx
from litehrnet_mm.deploy.runtimes import OrtRuntime, load_runtime
from tests.test_deploy.test_exporters.phone import SHAPE, tiny_model

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


def heatmap_model(shape):
    """Random weights, the head scaled so that heatmaps peak near 1 as
    trained ones do (float32 rounding grows with the outputs)."""
    model = random_weights_(build_preset('18'), (2, 3, *shape))
    with torch.no_grad():
        peak = model(torch.rand(1, 3, *shape)).abs().max()
        model.final_layer.weight.div_(peak)
        model.final_layer.bias.div_(peak)
    return model


@pytest.mark.parametrize('shape', [(128, 96), (125, 93)])
def test_static_export_matches_and_holds_no_shape_arithmetic(tmp_path, shape):
    model = heatmap_model(shape)
    file = str(tmp_path / 'pose.onnx')
    diff = export_onnx(model, shape, file)
    assert diff <= 1e-4
    graph = onnx.load(file).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    assert 'BatchNormalization' not in ops
    assert not any('Adaptive' in op for op in ops)
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, *shape]
    if shape == (128, 96):
        # Every size is a constant: no op computes one at run time.
        assert not {'Shape', 'Gather', 'Cast', 'Mod', 'Div'} & set(ops)
        # The compute, and little else: convs, the weightings' products,
        # pooling, resizing, splits and concatenations, ReLUs, sigmoids,
        # the shuffles' reshapes and transposes.
        assert ops['Conv'] == 237
        assert sum(ops.values()) - ops['Constant'] < 1000


def test_dynamic_batch_export(tmp_path):
    shape = SHAPE
    model = tiny_model()
    file = str(tmp_path / 'pose.onnx')
    assert export_onnx(model, shape, file, dynamic_batch=True) <= 1e-4
    graph = onnx.load(file).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    # The outputs too (a runtime may warn or plan for a fixed batch).
    for output in graph.output:
        assert output.type.tensor_type.shape.dim[0].dim_param == 'batch'
    x = torch.rand(3, 3, *shape)
    (got,) = OrtRuntime(file)(x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape == (3, 5, 16, 12)
    assert np.abs(got - expected).max() <= 1e-4
    for runtime in ('onnxruntime', 'openvino'):
        assert load_runtime(file, runtime, 1).input_shape[0] == 'batch'


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_runtimes_agree_with_pytorch_at_batch_4(tmp_path, runtime):
    pytest.importorskip(runtime)
    shape = SHAPE
    model = tiny_model()
    file = str(tmp_path / 'pose.onnx')
    export_onnx(model, shape, file, batch=4, metadata={'task': 'pose'})
    assert read_metadata(file) == {'task': 'pose'}
    compiled = load_runtime(file, runtime, threads=1)
    assert compiled.input_shape == (4, 3, *shape)
    x = torch.rand(4, 3, *shape)
    (got,) = compiled(x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.abs(got - expected).max() <= 1e-4


def test_bad_batch_is_refused(tmp_path):
    file = str(tmp_path / 'x.onnx')
    with pytest.raises(ValueError, match='batch=0'):
        export_onnx(tiny_model(), SHAPE, file, batch=0)


def test_a_peers_batchnorm_after_a_pool_stays_ours_is_refused(tmp_path):
    """A model of someone else's keeps a BN that follows no conv (as
    BiSeNetV2's context block does); in ours every norm is folded, and
    one left in the graph is a bug."""
    import onnx

    peer = torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.BatchNorm2d(3),
        torch.nn.Conv2d(3, 4, 1),
    ).eval()
    file = write_onnx(peer, (16, 16), str(tmp_path / 'peer.onnx'))
    ops = {n.op_type for n in onnx.load(file).graph.node}
    assert 'BatchNormalization' in ops

    # A head's BN after a transposed conv, which the ONNX exporter does
    # not fold (ExportJob.onnx folds it first): left, it is refused.
    ours = torch.nn.Sequential(
        tiny_model(),
        torch.nn.ConvTranspose2d(5, 5, 2, stride=2),
        torch.nn.BatchNorm2d(5),
    ).eval()
    with pytest.raises(RuntimeError, match='BatchNormalization left'):
        write_onnx(ours, SHAPE, str(tmp_path / 'ours.onnx'))


def test_a_free_batch_is_checked_at_batch_2(tmp_path, monkeypatch):
    """A free batch axis is checked on more than one image: a graph that
    mixed images would pass at batch 1."""
    from litehrnet_mm.deploy import onnx as deploy_onnx

    batches = []
    monkeypatch.setattr(
        deploy_onnx,
        'check_onnx',
        lambda model, file, shape, batch, seed: batches.append(batch) or 0.0,
    )
    file = str(tmp_path / 'pose.onnx')
    export_onnx(tiny_model(), SHAPE, file, dynamic_batch=True)
    export_onnx(tiny_model(), SHAPE, file, batch=3)
    assert batches == [2, 3]


def test_outputs_of_another_shape_or_number_are_named():
    from litehrnet_mm.deploy.onnx import max_abs_diff

    a = np.zeros((2, 17, 8, 6), np.float32)
    b = np.ones((1, 17, 8, 6), np.float32)
    assert max_abs_diff([a, a + 0.5], [a, a]) == 0.5
    with pytest.raises(RuntimeError, match=r'shape \(2, 17, 8, 6\) where '):
        max_abs_diff([a], [b])
    with pytest.raises(RuntimeError, match='1 outputs where 2 were expected'):
        max_abs_diff([a], [a, a])
