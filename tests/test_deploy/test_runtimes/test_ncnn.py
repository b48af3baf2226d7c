"""ncnn (deploy/runtimes/ncnn.py): a .param with its .bin beside it, its
outputs in pnnx's order, a batch run image by image."""

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import write_metadata
from litehrnet_mm.deploy.runtimes import load_runtime
from litehrnet_mm.deploy.runtimes.ncnn import ncnn_output_names
from litehrnet_mm.errors import LiteHRNetError
from tests.test_deploy.ncnn_conv import conv_relu, write_conv_model


def test_ncnn_needs_the_bin_beside_the_param(tmp_path):
    param = tmp_path / 'model.param'
    param.write_text('7767517\n0 0\n')
    with pytest.raises(FileNotFoundError, match=r'model\.bin'):
        load_runtime(str(param), 'ncnn')


def test_a_file_that_is_not_a_param_is_refused(tmp_path):
    with pytest.raises(LiteHRNetError, match=r'\.param'):
        load_runtime(str(tmp_path / 'model.bin'), 'ncnn')


def test_the_outputs_are_the_blobs_no_layer_reads_in_pnnx_order(tmp_path):
    param = tmp_path / 'm.param'
    param.write_text(
        '7767517\n5 6\n'
        'Input in0 0 1 in0\n'
        'Split s 1 3 in0 a b c\n'
        'ReLU r10 1 1 a out10\n'
        'ReLU r2 1 1 b out2\n'
        'ReLU r0 1 1 c out0\n'
    )
    assert ncnn_output_names(str(param)) == ['out0', 'out2', 'out10']


def test_a_batch_runs_image_by_image_in_fp32(tmp_path):
    param, weight, bias = write_conv_model(tmp_path)
    write_metadata(param, {'runtime': 'ncnn', 'input_shape': [1, 3, 6, 5]})
    runtime = load_runtime(param, threads=1)
    assert runtime.precision == 'fp32'
    assert runtime.input_shape == (1, 3, 6, 5)
    images = np.random.default_rng(1).normal(size=(2, 3, 6, 5))
    (got,) = runtime(images.astype(np.float32))
    assert got.dtype == np.float32 and got.shape == (2, 4, 6, 5)
    for image, out in zip(images, got):
        expected = conv_relu(image.astype(np.float32), weight, bias)
        assert np.abs(out - expected).max() < 1e-4


def test_no_input_shape_in_the_metadata_is_named(tmp_path):
    param, _, _ = write_conv_model(tmp_path)
    runtime = load_runtime(param, 'ncnn', threads=1)
    with pytest.raises(LiteHRNetError, match='no input_shape'):
        assert runtime.input_shape
