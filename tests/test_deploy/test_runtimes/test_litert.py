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
