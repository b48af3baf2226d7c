"""The OpenVINO exporter (deploy/exporters/openvino.py): an IR (.xml and
.bin) with f32 weights whatever the precision, and the inference precision
hint that the runtime is to compute in. (int8: test_quantize.py.)"""

import os
import warnings

import numpy as np
import torch

from litehrnet_mm.deploy.artifact import (
    ir_precision,
    metadata_file,
    read_metadata,
)
from litehrnet_mm.deploy.export import export
from litehrnet_mm.deploy.exporters import PRECISIONS
from litehrnet_mm.deploy.exporters.openvino import HINTS, export_openvino
from litehrnet_mm.deploy.runtimes import OpenVINORuntime, load_runtime
from tests.test_deploy.test_exporters.jobs import (
    has_batch_norm,
    images,
    job,
)
from tests.test_deploy.test_quantize import SHAPE, check_outputs, small_model


def test_every_precision_has_its_hint():
    assert tuple(HINTS) == PRECISIONS['openvino']
    # int8's unquantized ops compute in f32, what was calibrated.
    assert HINTS == {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}


def test_fp32_and_bf16_write_the_same_f32_ir_with_their_hint(tmp_path):
    import openvino as ov

    written, outputs = {}, {}
    for precision in ('fp32', 'bf16'):
        folder = tmp_path / precision
        folder.mkdir()
        made, reference = job(folder, precision, '.xml')
        options = export_openvino(made)
        assert options == {'inference_precision': HINTS[precision]}
        outputs[precision] = made.output
        assert not has_batch_norm(made.model)
        weights = made.output[: -len('.xml')] + '.bin'
        with open(weights, 'rb') as f:
            written[precision] = f.read()
        ir = ov.Core().read_model(made.output)
        constants = {
            str(op.get_output_element_type(0))
            for op in ir.get_ops()
            if op.get_type_name() == 'Constant'
            and op.get_output_element_type(0).is_real()
        }
        assert constants == {"<Type: 'float32'>"}, constants
        # The IR names its precision itself, for a reader without its
        # metadata file.
        assert ir_precision(ir) == HINTS[precision]
    # The precision is only the hint: the weights are the same.
    assert written['fp32'] == written['bf16']
    x = images()
    runtime = OpenVINORuntime(outputs['fp32'], threads=1)
    assert runtime.inference_precision == 'f32'
    (got,) = runtime(x.numpy())
    with torch.no_grad():
        expected = reference(x).numpy()
    assert np.abs(got - expected).max() < 1e-4 * np.abs(expected).max()


def test_bf16_artifact_names_its_precision_and_the_runtime_uses_it(tmp_path):
    import openvino as ov

    model = small_model()
    result = export(model, 'openvino', 'bf16', SHAPE, str(tmp_path / 'b.xml'))
    meta = read_metadata(result.path)
    assert meta['precision'] == 'bf16'
    assert meta['runtime_options'] == {'inference_precision': 'bf16'}
    # OpenVINO computes in bf16 where the CPU has it, else in f32, and
    # the runtime says so.
    capable = 'BF16' in ov.Core().get_property(
        'CPU', 'OPTIMIZATION_CAPABILITIES'
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runtime = load_runtime(result.path, threads=1)
    assert runtime.inference_precision == 'bf16'
    got = runtime.compiled.get_property('INFERENCE_PRECISION_HINT')
    assert str(got) == str(ov.Type.bf16 if capable else ov.Type.f32)
    assert runtime.compiled_precision == ('bf16' if capable else 'f32')
    notes = [str(w.message) for w in caught]
    notes = [n for n in notes if 'this CPU runs' in n]
    assert notes == (
        []
        if capable
        else [
            f'openvino: {result.path} asks for bf16; this CPU runs it in f32'
        ]
    )
    check_outputs(runtime, model)
    # Without its metadata file the IR still says bf16.
    os.remove(metadata_file(result.path))
    assert load_runtime(result.path, threads=1).inference_precision == 'bf16'


def test_the_shuffles_run_as_permutation_convs_with_the_same_outputs(
    tmp_path,
):
    """OpenVINO gets Lite-HRNet's channel shuffles as 1x1 permutation
    convs (its ShuffleChannels was a third of the time), computing the
    same function: export's own fp32 check passes at 1e-5."""
    model = small_model()
    path = str(tmp_path / 'f.xml')
    result = export(model, 'openvino', 'fp32', SHAPE, path, atol=1e-5)
    runtime = load_runtime(result.path, threads=1)
    layers = {
        op.get_rt_info()['layerType'].astype(str)
        for op in runtime.compiled.get_runtime_model().get_ops()
    }
    assert 'ShuffleChannels' not in layers and 'Transpose' not in layers
    assert 'Convolution' in layers
    check_outputs(runtime, model)
