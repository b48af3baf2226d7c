"""OpenVINO (deploy/runtimes/openvino.py): a plain ONNX file runs, in the
inference precision it is told (f32 unless an artifact names another)."""

from tests.test_deploy.test_runtimes.plain_onnx import (
    assert_runs_a_plain_onnx_file,
)


def test_a_plain_onnx_file_runs_on_openvino_in_f32(tmp_path):
    import openvino as ov

    compiled = assert_runs_a_plain_onnx_file(tmp_path, 'openvino')
    # Not OpenVINO's own default, which is bf16 on CPUs that have it.
    assert compiled.inference_precision == 'f32'
    hint = compiled.compiled.get_property('INFERENCE_PRECISION_HINT')
    assert hint == ov.Type.f32
    assert compiled.compiled_precision == 'f32'
