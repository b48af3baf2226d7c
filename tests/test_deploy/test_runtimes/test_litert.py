"""LiteRT (deploy/runtimes/litert.py): a missing .tflite is named; integer
tensors are read with their scale and zero point, float ones as they are."""

import numpy as np
import pytest

from litehrnet_mm.deploy.runtimes import load_runtime
from litehrnet_mm.deploy.runtimes.litert import _quantized


def test_a_missing_artifact_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.tflite'):
        load_runtime(str(tmp_path / 'model.tflite'), 'litert')


def test_only_integer_tensors_have_a_quantization():
    assert _quantized({'dtype': np.float32, 'quantization': (0.0, 0)}) is None
    int8 = {'dtype': np.int8, 'quantization': (np.float32(0.5), np.int32(-3))}
    assert _quantized(int8) == (0.5, -3)
    assert isinstance(_quantized(int8)[1], int)


class Interpreter:
    """What LiteRTRuntime.run asks of LiteRT's interpreter: the int8 input
    it is given comes back as the output, so that both conversions show."""

    def set_tensor(self, index, value):
        self.value = value

    def invoke(self):
        pass

    def get_tensor(self, index):
        return self.value


def test_integer_tensors_are_converted_by_their_scale_and_zero_point():
    # TFLite's quantization: real = scale * (q - zero_point); the input is
    # rounded to the nearest q, clipped to the integer type's range.
    from litehrnet_mm.deploy.runtimes.litert import LiteRTRuntime

    runtime = LiteRTRuntime.__new__(LiteRTRuntime)  # (no .tflite to read)
    runtime.interpreter = Interpreter()
    int8 = {'index': 0, 'dtype': np.int8, 'quantization': (0.5, -3)}
    runtime._input, runtime._outputs = int8, [int8]
    x = np.array([0.0, 1.0, 1.2, -2.0, 200.0, -200.0], np.float32)
    (got,) = runtime.run(x)
    q = np.clip(np.round(x / 0.5 - 3), -128, 127)
    assert runtime.interpreter.value.dtype == np.int8
    np.testing.assert_array_equal(runtime.interpreter.value, q)
    np.testing.assert_allclose(got, 0.5 * (q + 3))
    assert got.dtype == np.float32
    assert got[0] == 0.0 and got[1] == 1.0 and got[4] == 0.5 * 130
