"""What every runtime is (deploy/runtimes/base.py: the table of runtimes,
the missing-file error) and the one call that loads them (load_runtime, in
deploy/runtimes/__init__.py)."""

import numpy as np
import pytest

from litehrnet_mm import DeployError
from litehrnet_mm.deploy.artifact import write_metadata
from litehrnet_mm.deploy.runtimes import (
    RUNTIMES,
    Runtime,
    first_words,
    load_runtime,
)
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
    with pytest.raises(ValueError, match=r'x.bin is not an artifact: no '):
        load_runtime(str(other))
    with pytest.raises(DeployError, match=f'{tmp_path} is a folder; expec'):
        load_runtime(str(tmp_path))
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


def test_a_file_of_another_kind_or_without_its_weights_is_named(tmp_path):
    xml = tmp_path / 'm.xml'
    xml.write_text('<net/>')
    with pytest.raises(DeployError, match=r'm.xml \(a file for openvino\)'):
        load_runtime(str(xml), 'onnxruntime')
    with pytest.raises(FileNotFoundError, match=r'm.bin not found beside'):
        load_runtime(str(xml))
    with pytest.raises(DeployError, match='expected a .tflite file'):
        load_runtime(str(xml), 'litert')


def test_metadata_edited_to_what_does_not_exist_is_named(tmp_path):
    file = tmp_path / 'm.onnx'
    file.write_bytes(b'')
    write_metadata(str(file), {'runtime': 'onnxruntime', 'precision': 'bf16'})
    with pytest.raises(DeployError, match=r"m.onnx.json: precision 'bf16'"):
        load_runtime(str(file))
    write_metadata(str(file), {'runtime': 'tensorrt'})
    with pytest.raises(DeployError, match=r"m.onnx.json: runtime 'tensorrt'"):
        load_runtime(str(file), 'onnxruntime')
    # A sidecar copied from another runtime's artifact: the sidecar is
    # named, not the runtime it names as if the user had asked for it.
    write_metadata(str(file), {'runtime': 'ncnn'})
    with pytest.raises(
        DeployError,
        match=r"m.onnx.json: runtime 'ncnn', which does not read .onnx files "
        r'\(onnxruntime or openvino does\); expected the metadata export.py '
        'wrote with m.onnx',
    ):
        load_runtime(str(file))


def test_a_file_the_runtime_cannot_read_gets_its_words_in_one_line(tmp_path):
    pytest.importorskip('onnxruntime')
    file = tmp_path / 'cut.onnx'
    file.write_bytes(b'\x08\x07garbage')
    with pytest.raises(DeployError) as info:
        load_runtime(str(file))
    message = str(info.value)
    assert message.startswith(f'{file}: not readable as an ONNX model (')
    assert '\n' not in message and 'tools/deploy/export.py' in message
    # With its metadata beside it, the runtime itself reads the file.
    write_metadata(str(file), {'runtime': 'onnxruntime'})
    with pytest.raises(DeployError) as info:
        load_runtime(str(file))
    message = str(info.value)
    assert message.startswith(f'onnxruntime: cannot load {file} (')
    assert '\n' not in message and 'export.py --runtime onnxruntime' in message


def test_images_of_another_shape_get_one_error(tmp_path, recorded):
    file = str(tmp_path / 'model.any')
    open(file, 'wb').close()
    recorded.input_shape = (2, 3, 8, 6)
    recorded.run = lambda self, images: [images.sum()]
    runtime = recorded(file)
    assert runtime(np.ones((2, 3, 8, 6), np.float64)) == [288.0]
    with pytest.raises(DeployError, match=r'takes images of shape 2x3x8x6'):
        runtime(np.ones((1, 3, 8, 6), np.float32))
    with pytest.raises(
        DeployError, match='float32 numpy array of shape.*got a list$'
    ):
        runtime([np.ones((2, 3, 8, 6), np.float32)])
    # Pixels not normalised (uint8) are refused; another float is taken.
    with pytest.raises(
        DeployError,
        match=r'N >= 1\); got an array of '
        r'shape \(2, 3, 8, 6\) of uint8',
    ):
        runtime(np.ones((2, 3, 8, 6), np.uint8))
    recorded.any_batch = True
    assert recorded(file)(np.ones((1, 3, 8, 6), np.float32)) == [144.0]
    with pytest.raises(DeployError, match=r'got an array of shape \(0, '):
        recorded(file)(np.ones((0, 3, 8, 6), np.float32))
    with pytest.raises(DeployError, match='threads=0; expected an int >= 1'):
        recorded(file, threads=0)


def test_threads_must_be_a_whole_number_not_a_flag(tmp_path, recorded):
    file = str(tmp_path / 'model.any')
    open(file, 'wb').close()
    # True is an int to Python; as a thread count it is a mistake.
    for bad in (True, 2.0, '2'):
        with pytest.raises(DeployError, match=r'threads=.*expected an int'):
            recorded(file, threads=bad)
    assert recorded(file, threads=2).threads == 2


def test_an_error_of_ours_from_a_runtime_comes_through_as_it_is(
    tmp_path, recorded
):
    file = str(tmp_path / 'model.any')
    open(file, 'wb').close()
    write_metadata(file, {'runtime': 'recorded'})
    refusal = DeployError('recorded: this model needs a setting it lacks')

    def refuse(self, *args, **kwargs):
        raise refusal

    recorded.__init__ = refuse
    with pytest.raises(DeployError) as info:
        load_runtime(file)
    # Not wrapped in 'cannot load ...' around its own words.
    assert info.value is refusal


def test_a_suffix_in_capitals_is_read_like_its_lower_case(tmp_path, recorded):
    recorded.suffixes = ('.rec',)
    file = str(tmp_path / 'MODEL.REC')
    open(file, 'wb').close()
    write_metadata(file, {'runtime': 'recorded'})
    runtime = load_runtime(file)
    assert isinstance(runtime, recorded) and runtime.file == file


def test_a_runtimes_long_words_are_cut_to_one_short_line():
    words = (
        'Exception from src/inference/src/core.cpp:99:\n'
        + 'x' * 300
        + '\n\n  more\n'
    )
    text = first_words(RuntimeError(words))
    assert len(text) == 240 and text.endswith('...')
    assert text == ('x' * 300 + ' more')[:237] + '...'
    assert first_words(RuntimeError('a\n b \n')) == 'a b'
    assert first_words(KeyError()) == 'KeyError'
