"""The second harness (analysis/second_harness.py): OpenVINO's own
benchmark_app on an artifact, with the threads and the precision its
metadata asks for, read back as its median latency."""

import pytest

from litehrnet_mm.analysis.second_harness import (
    benchmark_app_command,
    median_latency,
    time_artifacts,
)
from litehrnet_mm.deploy.artifact import write_metadata

pytest.importorskip('openvino')

#: The end of benchmark_app's report (OpenVINO 2026.4).
REPORT = """[ INFO ] Count:            73 iterations
[ INFO ] Latency:
[ INFO ]    Median:        41.83 ms
[ INFO ]    Average:       41.65 ms
[ INFO ]    Min:           18.03 ms
"""


def test_median_latency_reads_the_median_not_the_average():
    assert median_latency(REPORT) == 41.83
    # Under a millisecond it prints microseconds.
    assert median_latency('[ INFO ]    Median:        442.53 us') == 0.44253
    with pytest.raises(ValueError, match='no "Median: ... ms"'):
        median_latency('[ ERROR ] cannot read model.xml')


def test_the_command_runs_the_artifacts_precision_on_one_request(tmp_path):
    file = str(tmp_path / 'm.xml')
    write_metadata(file, {'runtime_options': {'inference_precision': 'bf16'}})
    command = benchmark_app_command(file, threads=2, seconds=3)
    assert command[0].endswith('benchmark_app')
    flags = dict(zip(command[1::2], command[2::2]))
    assert flags == {
        '-m': file,
        '-d': 'CPU',
        '-hint': 'none',
        '-nstreams': '1',
        '-nireq': '1',
        '-nthreads': '2',
        '-infer_precision': 'bf16',
        '-t': '3',
    }
    with pytest.raises(ValueError, match='seconds=0.5; expected a whole'):
        benchmark_app_command(file, threads=2, seconds=0.5)


@pytest.mark.slow
def test_times_a_real_artifact(tmp_path):
    from litehrnet_mm.deploy.export import export
    from tests.test_deploy.test_exporters.phone import SHAPE, tiny_model

    path = str(tmp_path / 'tiny.xml')
    export(tiny_model(), 'openvino', 'fp32', SHAPE, path)
    logged = []
    times = time_artifacts([path], 1, rounds=1, seconds=1, log=logged.append)
    assert list(times) == [path] and times[path] > 0
    assert logged == [f'round 1/1: tiny.xml {times[path]:.2f} ms']


@pytest.mark.slow
def test_an_artifact_benchmark_app_cannot_run_is_named(tmp_path):
    from litehrnet_mm import LiteHRNetError

    file = tmp_path / 'm.xml'
    file.write_text('<net></net>')
    (tmp_path / 'm.bin').write_bytes(b'x')
    with pytest.raises(LiteHRNetError) as error:
        time_artifacts([str(file)], 1, rounds=1, seconds=1)
    message = str(error.value)
    assert message.startswith(
        f'second harness: benchmark_app failed on {file} (status '
    )
    assert 'Unable to read the model' in message
