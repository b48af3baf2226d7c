"""The phone runtimes' errors: each names the problem and what was
expected."""

import pytest

from litehrnet_mm.deploy.exporters.converter_venv import converters_python
from litehrnet_mm.deploy.runtimes import RUNTIMES, load_runtime
from litehrnet_mm.errors import LiteHRNetError


def test_the_phone_runtimes_are_registered():
    assert {'ncnn', 'executorch', 'litert'} <= set(RUNTIMES)
    from litehrnet_mm.deploy.exporters import PRECISIONS

    assert PRECISIONS['ncnn'] == ('fp32', 'fp16', 'int8')
    assert PRECISIONS['executorch'] == ('fp32', 'int8')
    assert PRECISIONS['litert'] == ('fp32', 'fp16', 'int8')


def test_ncnn_needs_the_bin_beside_the_param(tmp_path):
    param = tmp_path / 'model.param'
    param.write_text('7767517\n0 0\n')
    with pytest.raises(FileNotFoundError, match=r'model\.bin'):
        load_runtime(str(param), 'ncnn')


@pytest.mark.parametrize(
    'runtime, suffix', [('executorch', '.pte'), ('litert', '.tflite')]
)
def test_a_missing_artifact_is_named(tmp_path, runtime, suffix):
    with pytest.raises(FileNotFoundError, match=f'model{suffix}'):
        load_runtime(str(tmp_path / f'model{suffix}'), runtime)


def test_no_converters_venv_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv('LITEHRNET_MM_CONVERTERS', str(tmp_path / 'none'))
    with pytest.raises(LiteHRNetError, match='make install-converters'):
        converters_python()
