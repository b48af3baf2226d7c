"""What the ONNX-based runtimes share: a plain ONNX file (no metadata) of
a Lite-HRNet (the phone tests' tiny one: the runtime is under test, not
the architecture) runs, batch axis free, like PyTorch."""

import numpy as np
import torch

from litehrnet_mm.deploy.onnx import export_onnx
from litehrnet_mm.deploy.runtimes import load_runtime
from tests.test_deploy.test_exporters.phone import SHAPE, tiny_model


def assert_runs_a_plain_onnx_file(tmp_path, runtime):
    shape = SHAPE
    model = tiny_model()
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
    return compiled
