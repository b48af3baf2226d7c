"""ncnn through pnnx: the one export function writes the .param/.bin pair,
checked against PyTorch, and load_runtime runs it."""

import os

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.exporters.ncnn_int8 import QUANTIZED, read_param
from litehrnet_mm.deploy.runtimes import load_runtime
from tests.test_deploy.test_exporters.phone import (
    SHAPE,
    assert_runs_like_pytorch,
    exported,
    images,
)


@pytest.mark.slow
def test_fp32_matches_pytorch_and_runs_a_batch(tmp_path):
    # A static batch of 2: pnnx gets the graph of one image.
    result, model = exported(tmp_path, 'ncnn', 'fp32', batch=2)
    assert result.max_abs_diff <= 1e-4 * result.output_scale
    param = result.path
    weights = param[: -len('.param')] + '.bin'
    assert os.path.isfile(weights)
    meta = read_metadata(param)
    assert meta['runtime'] == 'ncnn' and meta['precision'] == 'fp32'
    # ncnn has no batch axis: a batch runs image by image.
    assert_runs_like_pytorch(result, model, batch=2)
    (got,) = load_runtime(param, threads=1)(images(3))
    assert got.shape == (3, 5, 16, 12)


@pytest.mark.slow
def test_fp16_halves_the_weights(tmp_path):
    fp32, _ = exported(tmp_path, 'ncnn', 'fp32')
    fp16, model = exported(tmp_path, 'ncnn', 'fp16')
    size = {
        r.path: os.path.getsize(r.path[: -len('.param')] + '.bin')
        for r in (fp32, fp16)
    }
    assert size[fp16.path] < 0.6 * size[fp32.path]
    runtime = load_runtime(fp16.path, threads=1)
    assert runtime.precision == 'fp16'
    (got,) = runtime(images(1))
    assert got.dtype == np.float32 and got.shape == (1, 5, 16, 12)


@pytest.mark.slow
def test_int8_keeps_the_convs_of_the_int8_design_in_fp32(tmp_path):
    # The convs ncnn keeps in fp32 are those fp32_convs picks in the ONNX
    # graph (depthwise, first, on pooled maps): all the depthwise ones and
    # as many in all; every other conv is int8.
    from litehrnet_mm.deploy.onnx import write_onnx
    from litehrnet_mm.deploy.quantize import fp32_convs

    result, model = exported(tmp_path, 'ncnn', 'int8')
    _, layers = read_param(result.path)
    convs = [ly for ly in layers if ly.type in QUANTIZED]
    kept = [ly for ly in convs if 8 not in ly.params]
    onnx_file = write_onnx(model, SHAPE, str(tmp_path / 'tiny.onnx'))
    assert len(kept) == len(fp32_convs(onnx_file))
    assert all(ly.type == 'Convolution' for ly in convs if ly not in kept)
    assert [ly for ly in convs if ly.type == 'ConvolutionDepthWise'] == [
        ly for ly in kept if ly.type == 'ConvolutionDepthWise'
    ]
    assert result.metadata['runtime_options']['quantized'] == {
        'Convolution': len(convs) - len(kept)
    }
    (got,) = load_runtime(result.path, threads=1)(images(1))
    assert got.shape == (1, 5, 16, 12) and np.isfinite(got).all()


def test_int8_without_the_design_quantizes_every_conv(tmp_path):
    # The benchmark's peers (int8_design=False) get every conv in int8;
    # with the design the conv on the image stays fp32.
    from litehrnet_mm.deploy.exporters.ncnn import export_ncnn
    from tests.test_deploy.test_exporters.jobs import images as job_images
    from tests.test_deploy.test_exporters.jobs import job

    calib = [x[None].numpy() for x in job_images(4)]
    for design, expected in ((False, {'Convolution': 1}), (True, {})):
        folder = tmp_path / str(design)
        folder.mkdir()
        made, _ = job(
            folder, 'int8', '.param', calib=calib, int8_design=design
        )
        assert export_ncnn(made)['quantized'] == expected


def test_a_head_with_batchnorms_after_its_deconv_exports(tmp_path):
    """A heatmap head's deconv + BN (the pose demo's), which the ONNX
    export leaves unfolded: the job's graph folds it, pnnx converts it,
    and ncnn computes the model's function."""
    from litehrnet_mm.deploy.exporters.ncnn import export_ncnn
    from tests.test_deploy.test_exporters.jobs import images as job_images
    from tests.test_deploy.test_exporters.jobs import job

    made, reference = job(tmp_path, 'fp32', '.param')
    export_ncnn(made)
    x = job_images()
    (got,) = load_runtime(made.output, 'ncnn', threads=1)(x.numpy())
    expected = reference(x).detach().numpy()
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()


def test_a_relative_output_lands_where_it_names(tmp_path, monkeypatch):
    """pnnx runs in the job's work folder: a relative output (the
    benchmark's --keep folder) must still be written relative to the
    caller's folder, not into the work folder that goes away."""
    from litehrnet_mm.deploy.exporters.ncnn import export_ncnn
    from tests.test_deploy.test_exporters.jobs import job

    made, _ = job(tmp_path, 'fp32', '.param')
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'keep').mkdir()
    made.output = os.path.join('keep', 'model.param')
    made.work_dir = 'work'
    export_ncnn(made)
    assert (tmp_path / 'keep' / 'model.param').is_file()
    assert (tmp_path / 'keep' / 'model.bin').is_file()
