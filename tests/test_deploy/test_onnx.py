"""ONNX export of the deploy form, checked against ONNX Runtime."""

import collections
import importlib.util
import textwrap

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.models import build_preset
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.onnx import export_onnx, read_metadata
from litehrnet_mm.deploy.runtimes import OrtRuntime, load_runtime
from tests.conftest import REPO

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
    shape = (128, 96)
    model = heatmap_model(shape)
    file = str(tmp_path / 'pose.onnx')
    assert export_onnx(model, shape, file, dynamic_batch=True) <= 1e-4
    graph = onnx.load(file).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    x = torch.rand(3, 3, *shape)
    (got,) = OrtRuntime(file)(x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape == (3, 17, 32, 24)
    assert np.abs(got - expected).max() <= 1e-4
    for runtime in ('onnxruntime', 'openvino'):
        assert load_runtime(file, runtime, 1).input_shape[0] == 'batch'


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_runtimes_agree_with_pytorch_at_batch_4(tmp_path, runtime):
    pytest.importorskip(runtime)
    shape = (128, 96)
    model = heatmap_model(shape)
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


def test_runtime_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.onnx not found'):
        load_runtime(str(tmp_path / 'nothing.onnx'))
    file = tmp_path / 'x.onnx'
    file.write_bytes(b'')
    with pytest.raises(ValueError, match='expected one of onnxruntime'):
        load_runtime(str(file), 'tensorrt')
    with pytest.raises(ValueError, match='batch=0'):
        export_onnx(heatmap_model((64, 48)), (64, 48), str(file), batch=0)


SEG_CONFIG = """
default_scope = 'mmseg'
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18',
                  out_indices=(0, 1, 2, 3)),
    decode_head=dict(
        type='FCNHead', in_channels=[40, 40, 80, 160], in_index=(0, 1, 2, 3),
        channels=320, input_transform='resize_concat', kernel_size=1,
        num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False)),
    test_cfg=dict(mode='whole'))
"""


def test_tool_exports_a_seg_config(tmp_path, capsys):
    pytest.importorskip('mmseg')
    path = REPO / 'tools' / 'deploy' / 'export_onnx.py'
    spec = importlib.util.spec_from_file_location('export_onnx', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config = tmp_path / 'seg.py'
    config.write_text(textwrap.dedent(SEG_CONFIG))
    output = tmp_path / 'seg.onnx'
    tool.main(
        [str(config), 'none', '--shape', '64', '128', '--output', str(output)]
    )
    printed = capsys.readouterr().out
    assert 'max abs diff' in printed and '(ok' in printed
    x = np.random.rand(1, 3, 64, 128).astype(np.float32)
    (got,) = OrtRuntime(str(output))(x)
    assert got.shape == (1, 19, 16, 32)
