"""ONNX Runtime (deploy/runtimes/onnxruntime.py) on a plain ONNX file."""

from tests.test_deploy.test_runtimes.plain_onnx import (
    assert_runs_a_plain_onnx_file,
)


def test_a_plain_onnx_file_runs_on_onnxruntime(tmp_path):
    assert_runs_a_plain_onnx_file(tmp_path, 'onnxruntime')
