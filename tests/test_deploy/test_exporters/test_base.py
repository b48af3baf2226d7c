"""What an exporter is given and the table of runtimes and precisions
(deploy/exporters/base.py)."""

import os

import onnx
import pytest

from litehrnet_mm.deploy.exporters import (
    EXPORTERS,
    PRECISIONS,
    register_exporter,
)
from litehrnet_mm.deploy.runtimes import RUNTIMES, Runtime, register_runtime
from tests.test_deploy.test_exporters.jobs import has_batch_norm, job


def test_the_phone_runtimes_are_registered():
    assert PRECISIONS['ncnn'] == ('fp32', 'fp16', 'int8')
    assert PRECISIONS['executorch'] == ('fp32', 'int8')
    assert PRECISIONS['litert'] == ('fp32', 'fp16', 'int8')


def test_every_runtime_has_its_exporter_and_precisions():
    assert PRECISIONS['onnxruntime'] == ('fp32', 'int8')
    assert PRECISIONS['openvino'] == ('fp32', 'bf16', 'int8')
    assert set(EXPORTERS) == set(PRECISIONS)
    assert all(callable(fn) for fn in EXPORTERS.values())


def test_register_exporter_fills_both_tables(monkeypatch):
    # setitem of new keys: they are removed again afterwards.
    monkeypatch.setitem(PRECISIONS, 'nothing', None)
    monkeypatch.setitem(EXPORTERS, 'nothing', None)
    monkeypatch.setitem(RUNTIMES, 'nothing', None)

    @register_runtime('nothing')
    class Nothing(Runtime):
        precisions = ('fp32', 'fp16')

    def write(job):
        return {'written': job.output}

    # The precisions are those the runtime runs: one table, not two.
    assert register_exporter('nothing')(write) is write
    assert PRECISIONS['nothing'] == ('fp32', 'fp16')
    assert EXPORTERS['nothing'] is write
    for runtime, precisions in PRECISIONS.items():
        assert precisions == RUNTIMES[runtime].precisions


@pytest.mark.parametrize('dynamic_batch', [False, True])
def test_the_onnx_graph_is_written_once_in_the_work_dir(
    tmp_path, dynamic_batch
):
    made, _ = job(tmp_path, 'fp32', '.onnx', dynamic_batch=dynamic_batch)
    # The head's BatchNorms, which the ONNX export refuses, are folded
    # first: every ONNX-based exporter gets the folded graph.
    assert has_batch_norm(made.model)
    first = made.onnx()
    assert not has_batch_norm(made.model)
    assert first == os.path.join(made.work_dir, 'model.onnx')
    graph = onnx.load(first).graph
    batch = graph.input[0].type.tensor_type.shape.dim[0]
    if dynamic_batch:
        assert batch.dim_param == 'batch'
    else:
        assert batch.dim_value == 2
    os.remove(first)
    # A second call reuses the first graph: it does not export again.
    assert made.onnx() == first and not os.path.exists(first)
