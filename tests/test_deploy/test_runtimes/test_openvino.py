"""OpenVINO (deploy/runtimes/openvino.py): a plain ONNX file runs, in the
inference precision it is told (f32 unless an artifact names another)."""

import warnings

import numpy as np
import pytest

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


def test_calls_from_several_threads_each_get_their_own_output(tmp_path):
    """One infer request serves every call: without turns a second
    thread's input overwrote the first's mid-inference ("Infer Request is
    busy", or another thread's output returned without an error)."""
    import threading

    import numpy as np

    compiled = assert_runs_a_plain_onnx_file(tmp_path, 'openvino')
    rng = np.random.default_rng(0)
    xs = [rng.random((2, 3, 64, 48), dtype=np.float32) for _ in range(3)]
    expected = [compiled(x)[0] for x in xs]
    failures = []

    def work(k):
        for _ in range(30):
            try:
                (got,) = compiled(xs[k])
            except RuntimeError as e:  # the request was busy
                failures.append(str(e))
                continue
            if not np.array_equal(got, expected[k]):
                failures.append(f"thread {k}: another input's output")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_the_latency_config_names_the_precision_and_the_threads():
    from litehrnet_mm.deploy.runtimes.openvino import latency_config

    assert latency_config() == {
        'INFERENCE_PRECISION_HINT': 'f32',
        'PERFORMANCE_HINT': 'LATENCY',
    }
    assert latency_config('bf16', 2) == {
        'INFERENCE_PRECISION_HINT': 'bf16',
        'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_NUM_THREADS': '2',
    }


def test_a_precision_the_cpu_does_not_run_is_said(tmp_path, monkeypatch):
    """A bf16 artifact on a CPU without bf16 compiles as f32: a warning
    says so (forced here: whether this CPU has bf16 is not the test's)."""
    import openvino as ov
    import openvino.opset8 as ops

    from litehrnet_mm.deploy.runtimes.openvino import OpenVINORuntime

    x = ops.parameter([1, 3, 4, 4], np.float32, name='x')
    model = ov.Model([ops.relu(x)], [x], 'relu')
    xml = str(tmp_path / 'relu.xml')
    ov.save_model(model, xml, compress_to_fp16=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        runtime = OpenVINORuntime(xml, threads=1)  # f32 is f32 everywhere
    assert runtime.compiled_precision == 'f32'
    monkeypatch.setattr(OpenVINORuntime, 'compiled_precision', 'f32')
    with pytest.warns(
        UserWarning, match='asks for bf16; this CPU runs it in f32'
    ):
        OpenVINORuntime(xml, threads=1, inference_precision='bf16')


def test_an_ir_without_metadata_runs_in_the_precision_it_names(tmp_path):
    """The IR's own hint (rt_info runtime_options, as export writes it)
    when no metadata file gives one; f32 when it names none, not
    OpenVINO's default (bf16 on CPUs that have it)."""
    import openvino as ov
    import openvino.opset8 as ops

    from litehrnet_mm.deploy.artifact import ir_precision, save_ir
    from litehrnet_mm.deploy.runtimes import load_runtime
    from litehrnet_mm.deploy.runtimes.openvino import OpenVINORuntime

    x = ops.parameter([1, 3, 4, 4], np.float32, name='x')
    model = ov.Model([ops.relu(x)], [x], 'relu')
    plain = str(tmp_path / 'plain.xml')
    ov.save_model(model, plain, compress_to_fp16=False)
    assert ir_precision(ov.Core().read_model(plain)) is None
    assert load_runtime(plain, threads=1).inference_precision == 'f32'
    named = str(tmp_path / 'named.xml')
    save_ir(model, named, 'bf16')
    assert ir_precision(ov.Core().read_model(named)) == 'bf16'
    # Where OpenVINO keeps a model's runtime options, for other readers of
    # the IR (and of ours written by other tools).
    path = ['runtime_options', 'INFERENCE_PRECISION_HINT']
    read = ov.Core().read_model(named)
    assert read.get_rt_info(path).astype(str) == 'bf16'
    read.set_rt_info('f32', path)
    assert ir_precision(read) == 'f32'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # a CPU without bf16 says so
        assert load_runtime(named, threads=1).inference_precision == 'bf16'
        # What the caller asks for wins over the IR's.
        asked = OpenVINORuntime(named, threads=1, inference_precision='f32')
    assert asked.compiled_precision == 'f32'
