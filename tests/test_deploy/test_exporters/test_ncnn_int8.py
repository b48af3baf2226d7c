"""ncnn's int8 quantization (deploy/exporters/ncnn_int8.py) on the
hand-written conv model of tests/test_deploy/ncnn_conv.py: what it writes
in the .param and the .bin, the calibration ranges, what it refuses."""

import struct

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import write_metadata
from litehrnet_mm.deploy.exporters.ncnn_int8 import (
    TAG_FP16,
    TAG_INT8,
    Layer,
    _read_weights,
    calibration_ranges,
    fp32_layers,
    quantize_ncnn,
    read_param,
)
from litehrnet_mm.deploy.runtimes.ncnn import NcnnRuntime
from litehrnet_mm.errors import LiteHRNetError
from tests.test_deploy.ncnn_conv import (
    OUT_CHANNELS,
    conv_relu,
    write_conv_model,
)


def quantized(tmp_path, ranges):
    param, weight, bias = write_conv_model(tmp_path)
    out = str(tmp_path / 'int8.param')
    counts = quantize_ncnn(
        param,
        param[: -len('.param')] + '.bin',
        ranges,
        out,
        str(tmp_path / 'int8.bin'),
    )
    return counts, out, weight, bias


def test_the_conv_gets_int8_weights_per_channel_and_its_input_scale(
    tmp_path,
):
    counts, param, weight, bias = quantized(tmp_path, {'in0': 2.0})
    assert counts == {'Convolution': 1}
    _, layers = read_param(param)
    conv = next(ly for ly in layers if ly.type == 'Convolution')
    assert conv.params[8] == '1'
    assert [ly.type for ly in layers] == ['Input', 'Convolution', 'ReLU']
    with open(tmp_path / 'int8.bin', 'rb') as f:
        buf = f.read()
    assert struct.unpack_from('<I', buf)[0] == TAG_INT8
    n = weight.size
    q = np.frombuffer(buf, np.int8, n, 4).reshape(OUT_CHANNELS, -1)
    pos = 4 + n + (-n % 4)
    stored_bias = np.frombuffer(buf, np.float32, OUT_CHANNELS, pos)
    w_scales = np.frombuffer(buf, np.float32, OUT_CHANNELS, pos + 4 * 4)
    x_scale = np.frombuffer(buf, np.float32, 1, pos + 8 * 4)[0]
    assert len(buf) == pos + 9 * 4
    assert np.array_equal(stored_bias, bias)
    per = weight.reshape(OUT_CHANNELS, -1)
    assert np.allclose(w_scales, 127 / np.abs(per).max(axis=1))
    # The largest weight of each output channel is +-127.
    assert np.array_equal(np.abs(q).max(axis=1), [127] * OUT_CHANNELS)
    assert np.abs(q / w_scales[:, None] - per).max() <= (
        0.5 / w_scales.min() + 1e-6
    )
    assert x_scale == np.float32(127 / 2.0)


def test_a_conv_without_a_range_stays_fp32(tmp_path):
    counts, param, _, _ = quantized(tmp_path, {})
    assert counts == {}
    assert 8 not in read_param(param)[1][1].params
    with open(tmp_path / 'conv.bin', 'rb') as a:
        with open(tmp_path / 'int8.bin', 'rb') as b:
            assert a.read() == b.read()


def test_a_conv_kept_in_fp32_stays_fp32_with_a_range(tmp_path):
    param, _, _ = write_conv_model(tmp_path)
    out = str(tmp_path / 'int8.param')
    counts = quantize_ncnn(
        param,
        str(tmp_path / 'conv.bin'),
        {'in0': 2.0},
        out,
        str(tmp_path / 'int8.bin'),
        keep_fp32=['conv'],
    )
    assert counts == {}
    assert 8 not in read_param(out)[1][1].params
    with open(tmp_path / 'conv.bin', 'rb') as a:
        with open(tmp_path / 'int8.bin', 'rb') as b:
            assert a.read() == b.read()


def test_fp32_layers_are_depthwise_first_and_the_weightings():
    # What pnnx writes for Lite-HRNet: the stem's conv on the image, a
    # depthwise conv, a dense 1x1 conv, a grouped conv that is not
    # depthwise, and a weighting on pooled maps (1x1 conv with ReLU, 1x1
    # conv with a fused sigmoid, whose output multiplies the branch).
    lines = [
        'Input in0 0 1 in0',
        'Convolution first 1 1 in0 a 0=8 1=3 11=3 3=2 4=1 5=1 6=216 9=1',
        'ConvolutionDepthWise dw 1 1 a b 0=8 1=3 11=3 4=1 5=1 6=72 7=8',
        'Convolution dense 1 1 b c 0=8 1=1 11=1 5=1 6=64 9=1',
        'ConvolutionDepthWise grouped 1 1 c d 0=8 1=1 11=1 5=1 6=32 7=2',
        'Pooling pool 1 1 d e 0=1 4=1',
        'Convolution squeeze 1 1 e f 0=2 1=1 11=1 5=1 6=16 9=1',
        'Convolution excite 1 1 f g 0=8 1=1 11=1 5=1 6=16 9=4',
        'BinaryOp mul 2 1 d g out0 0=2',
    ]
    layers = [Layer(ln) for ln in lines]
    assert fp32_layers(layers) == ['first', 'dw', 'squeeze', 'excite']


def test_the_ranges_are_the_largest_input_magnitudes(tmp_path):
    param, weight, bias = write_conv_model(tmp_path)
    runtime = NcnnRuntime(param, threads=1)
    images = [np.full((1, 3, 6, 5), v, np.float32) for v in (0.5, -3.0)]
    images[0][0, 1, 2, 3] = 1.5
    assert calibration_ranges(runtime, images, param) == {'in0': 3.0}


def test_the_int8_model_runs_in_ncnn(tmp_path):
    # Only that the files are read as written (scales, layout): one conv's
    # int8 rounding stays within a few percent of its output scale.
    image = np.random.default_rng(3).uniform(-1, 1, (3, 6, 5))
    image = image.astype(np.float32)
    _, param, weight, bias = quantized(
        tmp_path, {'in0': float(np.abs(image).max())}
    )
    write_metadata(param, {'input_shape': [1, 3, 6, 5]})
    (got,) = NcnnRuntime(param, threads=1, precision='int8')(image[None])
    expected = conv_relu(image, weight, bias)
    assert np.abs(got[0] - expected).max() < 0.05 * np.abs(expected).max()


def test_what_it_cannot_read_is_named(tmp_path):
    param, _, _ = write_conv_model(tmp_path)
    weights = param[: -len('.param')] + '.bin'
    with open(weights, 'ab') as f:
        f.write(b'\0' * 8)
    with pytest.raises(LiteHRNetError, match='do not match the layers'):
        quantize_ncnn(param, weights, {}, param + '.q', weights + '.q')
    with open(param, 'a') as f:
        f.write('Unknown u 1 1 out0 out1\n')
    with pytest.raises(LiteHRNetError, match='type Unknown is not known'):
        quantize_ncnn(param, weights, {}, param + '.q', weights + '.q')
    blob = struct.pack('<I', 0x12345678) + b'\0' * 8
    with pytest.raises(LiteHRNetError, match='tag 0x12345678'):
        _read_weights(blob, 0, 2)


def test_fp16_weights_are_read_as_float32():
    values = np.array([0.5, -2.0, 3.25], np.float16)
    blob = struct.pack('<I', TAG_FP16) + values.tobytes() + b'\0\0'
    data, end = _read_weights(blob, 0, 3)
    assert data.dtype == np.float32 and np.array_equal(data, values)
    # Padded to 4 bytes.
    assert end == 4 + 8


def test_an_int8_model_run_as_fp32_is_refused_not_crashed(tmp_path):
    """Without its metadata (copied without the .json) an int8 model ran
    as fp32: ncnn crashed the process at the first call (a segmentation
    fault); now one error names the file and the precision it needs."""
    from litehrnet_mm.deploy.runtimes import load_runtime

    image = np.random.default_rng(3).uniform(-1, 1, (1, 3, 6, 5))
    _, param, _, _ = quantized(tmp_path, {'in0': 1.0})
    for load in (
        lambda: load_runtime(param, threads=1),
        lambda: NcnnRuntime(param, threads=1, precision='fp16'),
    ):
        with pytest.raises(LiteHRNetError) as info:
            load()
        assert str(info.value).startswith(
            f'ncnn: {param} holds int8 layers but would run in fp'
        )
        assert "precision 'int8', as the metadata export.py" in str(info.value)
    # With the metadata export.py writes, it loads and runs.
    write_metadata(
        param,
        {
            'runtime': 'ncnn',
            'runtime_options': {'precision': 'int8'},
            'input_shape': [1, 3, 6, 5],
        },
    )
    (got,) = load_runtime(param, threads=1)(image.astype(np.float32))
    assert got.shape == (1, OUT_CHANNELS, 6, 5)
    # The fp32 model it was made from is not taken for an int8 one.
    fp32 = str(tmp_path / 'conv.param')
    assert NcnnRuntime(fp32, threads=1).precision == 'fp32'
