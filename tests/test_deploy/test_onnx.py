"""ONNX export of the deploy form, checked against ONNX Runtime."""

import importlib.util
import textwrap

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.models import build_preset
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.onnx import export_onnx, ort_session
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
def test_pose_model_parity_dynamic_batch_no_adaptive_pool(tmp_path, shape):
    model = heatmap_model(shape)
    file = str(tmp_path / 'pose.onnx')
    diff = export_onnx(model, shape, file)
    assert diff <= 1e-4
    graph = onnx.load(file).graph
    ops = {node.op_type for node in graph.node}
    assert 'BatchNormalization' not in ops
    assert not any('Adaptive' in op for op in ops)
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    # Another batch size than the one traced and checked at export.
    x = torch.rand(3, 3, *shape)
    (got,) = ort_session(file).run(None, {'input': x.numpy()})
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape == (3, 17, *[-(-s // 4) for s in shape])
    assert np.abs(got - expected).max() <= 1e-4


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
    x = np.random.rand(2, 3, 64, 128).astype(np.float32)
    (got,) = ort_session(str(output)).run(None, {'input': x})
    assert got.shape == (2, 19, 16, 32)
