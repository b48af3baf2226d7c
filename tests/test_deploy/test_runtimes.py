"""Every runtime behind one call (litehrnet_mm.deploy.runtimes)."""

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.models import build_preset
from litehrnet_mm.deploy.onnx import export_onnx
from litehrnet_mm.deploy.runtimes import RUNTIMES, Runtime, load_runtime


def test_runtimes_are_registered_by_name():
    assert {'onnxruntime', 'openvino'} <= set(RUNTIMES)
    for name, cls in RUNTIMES.items():
        assert issubclass(cls, Runtime) and cls.name == name


def test_load_runtime_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.onnx not found'):
        load_runtime(str(tmp_path / 'nothing.onnx'))
    file = tmp_path / 'x.onnx'
    file.write_bytes(b'')
    with pytest.raises(ValueError, match="'tensorrt' for .*expected one of"):
        load_runtime(str(file), 'tensorrt')
    other = tmp_path / 'x.bin'
    other.write_bytes(b'')
    with pytest.raises(ValueError, match='runtime=None for .*x.bin'):
        load_runtime(str(other))


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_a_plain_onnx_file_runs_on_either_runtime(tmp_path, runtime):
    shape = (64, 48)
    model = build_preset('18')
    file = str(tmp_path / 'pose.onnx')
    export_onnx(model, shape, file, dynamic_batch=True, check=False)
    compiled = load_runtime(file, runtime, threads=1)
    assert compiled.name == runtime
    assert compiled.input_shape[0] == 'batch'
    x = torch.rand(3, 3, *shape)
    (got,) = compiled(x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    assert got.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() <= 1e-4 * scale
