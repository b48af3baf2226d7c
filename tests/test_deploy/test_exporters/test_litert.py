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
    # Weights in float16; or int8 weights and activations of the convs
    # of Lite-HRNet's int8 design: not the first conv (the input stays
    # float32) nor the depthwise ones.
    interpreter = runtime.interpreter
    details = interpreter.get_tensor_details()
    dtypes = {t['dtype'] for t in details}
    wanted = np.float16 if precision == 'fp16' else np.int8
    assert wanted in dtypes
    assert runtime._input['dtype'] == np.float32
    if precision == 'int8':
        dtype = {t['index']: np.dtype(t['dtype']) for t in details}
        weights = {'CONV_2D': set(), 'DEPTHWISE_CONV_2D': set()}
        for op in interpreter._get_ops_details():
            if op['op_name'] in weights:
                weights[op['op_name']].add(dtype[op['inputs'][1]])
        assert weights == {
            'CONV_2D': {np.dtype(np.int8), np.dtype(np.float32)},
            'DEPTHWISE_CONV_2D': {np.dtype(np.float32)},
        }
        ops = result.metadata['runtime_options']['ops']
        assert ops['QUANTIZE'] >= 1 and ops['DEQUANTIZE'] >= 1
    (got,) = runtime(images(2)[:1])
    assert got.dtype == np.float32 and got.shape == (1, 5, 16, 12)
