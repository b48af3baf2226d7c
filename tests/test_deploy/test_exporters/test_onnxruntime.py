"""The ONNX Runtime exporter (deploy/exporters/onnxruntime.py): fp32 is the
job's static ONNX graph, with the head's BatchNorms folded first; it needs
no runtime options. (int8: tests/test_deploy/test_quantize.py.)"""

import filecmp

import numpy as np
import onnx
import torch

from litehrnet_mm.deploy.exporters.onnxruntime import export_onnxruntime
from litehrnet_mm.deploy.runtimes import OrtRuntime
from tests.test_deploy.test_exporters.jobs import (
    has_batch_norm,
    images,
    job,
)


def test_fp32_is_the_folded_onnx_graph(tmp_path):
    made, reference = job(tmp_path, 'fp32', '.onnx')
    assert export_onnxruntime(made) == {}
    assert not has_batch_norm(made.model)
    assert filecmp.cmp(made.output, made.onnx(), shallow=False)
    ops = {n.op_type for n in onnx.load(made.output).graph.node}
    assert 'BatchNormalization' not in ops
    x = images()
    (got,) = OrtRuntime(made.output, threads=1)(x.numpy())
    with torch.no_grad():
        expected = reference(x).numpy()
    assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()


def test_int8_gets_the_design_or_the_quantizers_defaults(
    tmp_path, monkeypatch
):
    """int8_design=False (the benchmark's peers) keeps no conv in fp32 and
    quantizes every op type ONNX Runtime quantizes; the design's convs are
    the quantizer's own choice (None), and the convs alone are quantized."""
    from litehrnet_mm.deploy import quantize

    asked = []

    def quantize_onnxruntime(
        onnx_file, calib, output, batch, keep_fp32='not given', op_types=0
    ):
        asked.append((batch, keep_fp32, op_types))

    monkeypatch.setattr(quantize, 'quantize_onnxruntime', quantize_onnxruntime)
    for design in (True, False):
        made, _ = job(tmp_path, 'int8', '.onnx', int8_design=design)
        assert export_onnxruntime(made) == {}
    assert asked == [(2, None, ('Conv',)), (2, [], None)]
