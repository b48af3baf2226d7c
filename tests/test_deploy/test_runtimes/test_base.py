"""What every runtime is (deploy/runtimes/base.py: the table of runtimes,
the missing-file error) and the one call that loads them (load_runtime, in
deploy/runtimes/__init__.py)."""

import pytest

from litehrnet_mm.deploy.artifact import write_metadata
from litehrnet_mm.deploy.runtimes import RUNTIMES, Runtime, load_runtime
from litehrnet_mm.deploy.runtimes.base import register_runtime


def test_runtimes_are_registered_by_name():
    assert {'onnxruntime', 'openvino'} <= set(RUNTIMES)
    for name, cls in RUNTIMES.items():
        assert issubclass(cls, Runtime) and cls.name == name


def test_the_phone_runtimes_are_registered():
    assert {'ncnn', 'executorch', 'litert'} <= set(RUNTIMES)


def test_load_runtime_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.onnx not found'):
        load_runtime(str(tmp_path / 'nothing.onnx'))
    file = tmp_path / 'x.onnx'
    file.write_bytes(b'')
    with pytest.raises(ValueError, match="'tensorrt' for .*expected one of"):
        load_runtime(str(file), 'tensorrt')
    other = tmp_path / 'x.bin'
    other.write_bytes(b'')
    with pytest.raises(ValueError, match='runtime=None for .*x.bin'):
        load_runtime(str(other))
    # Its metadata without it (an export that wrote its files elsewhere):
    # the file is named as missing, not its runtime as unknown.
    (tmp_path / 'gone.param.json').write_text('{"runtime": "ncnn"}')
    with pytest.raises(FileNotFoundError, match='gone.param not found'):
        load_runtime(str(tmp_path / 'gone.param'))


@pytest.fixture
def recorded(monkeypatch):
    """A runtime registered as ``'recorded'`` for this test only, which
    keeps what it was built with."""
    # setitem of a new key: the key is removed again afterwards.
    monkeypatch.setitem(RUNTIMES, 'recorded', None)

    @register_runtime('recorded')
    class Recorded(Runtime):
        pass

    return Recorded


def test_the_artifact_options_go_to_its_own_runtime_only(tmp_path, recorded):
    file = str(tmp_path / 'model.any')
    open(file, 'wb').close()
    write_metadata(
        file, {'runtime': 'recorded', 'runtime_options': {'speed': 'max'}}
    )
    # Its runtime is read from the metadata, with the options it names.
    runtime = load_runtime(file, threads=3)
    assert isinstance(runtime, recorded) and runtime.name == 'recorded'
    assert runtime.file == file and runtime.threads == 3
    assert runtime.options == {'speed': 'max'}
    # Another runtime gets its own defaults, not options it may not know.
    write_metadata(file, {'runtime': 'openvino', 'runtime_options': {'x': 1}})
    assert load_runtime(file, 'recorded').options == {}


def test_a_runtime_refuses_a_missing_file_by_its_name(tmp_path, recorded):
    with pytest.raises(FileNotFoundError, match=r'recorded: .*gone\.any'):
        recorded(str(tmp_path / 'gone.any'))
