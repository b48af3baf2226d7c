"""LiteRT: the one export function writes a .tflite (litert-torch in the
converters venv) of builtin ops only, checked against PyTorch, and
load_runtime runs it. A conversion costs about a minute here (most of it
importing the converter), so the fp32 one is shared and the reduced
precisions are slow tests."""

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.runtimes import load_runtime
from tests.test_deploy.test_exporters.phone import (
    ONE_STAGE,
    assert_runs_like_pytorch,
    exported,
    images,
)


def no_tensorflow_ops(ops):
    return not any(op.startswith(('CUSTOM', 'FLEX')) for op in ops)


@pytest.fixture(scope='module')
def fp32(tmp_path_factory):
    folder = tmp_path_factory.mktemp('litert')
    return exported(folder, 'litert', 'fp32', extra=ONE_STAGE)


@pytest.mark.slow
def test_fp32_matches_pytorch_with_builtin_ops_only(fp32):
    result, model = fp32
    assert result.path.endswith('.tflite')
    assert result.max_abs_diff <= 1e-4 * result.output_scale
    meta = read_metadata(result.path)
    assert meta['runtime'] == 'litert' and meta['precision'] == 'fp32'
    assert no_tensorflow_ops(meta['runtime_options']['ops'])
    assert_runs_like_pytorch(result, model, batch=1)


@pytest.mark.slow
@pytest.mark.parametrize('precision', ['fp16', 'int8'])
def test_reduced_precision_stores_its_type_and_takes_float32(
    tmp_path, precision
):
    result, _ = exported(tmp_path, 'litert', precision, extra=ONE_STAGE)
    assert no_tensorflow_ops(result.metadata['runtime_options']['ops'])
    runtime = load_runtime(result.path, threads=1)
    assert runtime.precision == precision
    # Weights in float16; or int8 weights and activations, the input too.
    dtypes = {t['dtype'] for t in runtime.interpreter.get_tensor_details()}
    wanted = np.float16 if precision == 'fp16' else np.int8
    assert wanted in dtypes
    assert (runtime._input['dtype'] == np.int8) == (precision == 'int8')
    (got,) = runtime(images(2)[:1])
    assert got.dtype == np.float32 and got.shape == (1, 5, 16, 12)
