"""INT8: NNCF quantization of an exported backbone, and the backbone that
runs a compiled model inside the host's model."""

import numpy as np
import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.onnx import export_onnx
from litehrnet_mm.deploy.quantize import RuntimeBackbone, quantize_openvino
from litehrnet_mm.deploy.runtimes import load_runtime

pytest.importorskip('openvino')
SHAPE = (64, 48)


def backbone():
    model = LiteHRNet(arch='18', out_indices=(0, 1))
    return random_weights_(model, (2, 3, *SHAPE)).eval()


def test_runtime_backbone_pads_and_splits_batches(tmp_path):
    model = backbone()
    file = str(tmp_path / 'backbone.onnx')
    export_onnx(model, SHAPE, file, batch=2)
    wrapped = RuntimeBackbone(load_runtime(file, 'openvino', 1), (40, 40))
    x = torch.rand(5, 3, *SHAPE)
    with torch.no_grad():
        expected = model(x)
    got = wrapped(x)
    assert [tuple(o.shape) for o in got] == [tuple(o.shape) for o in expected]
    for g, e in zip(got, expected):
        scale = max(1.0, e.abs().max().item())
        assert (g - e).abs().max().item() <= 1e-4 * scale


def test_int8_model_is_written_and_stays_close(tmp_path):
    pytest.importorskip('nncf')
    model = backbone()
    file = str(tmp_path / 'backbone.onnx')
    export_onnx(model, SHAPE, file)
    gen = torch.Generator().manual_seed(0)
    images = [
        torch.rand(1, 3, *SHAPE, generator=gen).numpy() for _ in range(8)
    ]
    output = quantize_openvino(file, images, str(tmp_path / 'int8.xml'))
    assert (tmp_path / 'int8.bin').is_file()
    import openvino as ov

    ops = {op.get_type_name() for op in ov.Core().read_model(output).get_ops()}
    assert 'FakeQuantize' in ops
    int8 = load_runtime(output, 'openvino', 1)
    x = images[0]
    with torch.no_grad():
        expected = [o.numpy() for o in model(torch.from_numpy(x))]
    got = int8(x)
    # What quantization costs in accuracy is measured on a trained model
    # (tools/deploy/quantize.py); here: the same outputs, finite.
    assert [g.shape for g in got] == [e.shape for e in expected]
    assert all(np.isfinite(g).all() for g in got)
