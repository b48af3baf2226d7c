"""The converters venv and the crossing into it
(deploy/exporters/converter_venv.py): finding its python, the program and
images handed over, the request and report files, one process serving
every conversion, one error when it fails. A shell script stands in for
its python: these tests start no interpreter (the conversions themselves:
test_executorch.py, test_litert.py)."""

import json
import os
import signal
import time

import numpy as np
import pytest
import torch
import torch.nn as nn

from litehrnet_mm.deploy.exporters import ExportJob
from litehrnet_mm.deploy.exporters.convert_in_venv import DONE
from litehrnet_mm.deploy.exporters.converter_venv import (
    ENV_VAR,
    convert_in_venv,
    converters_python,
    converters_site_packages,
    run_converter,
    save_images,
    save_program,
    stop_converters,
)
from litehrnet_mm.errors import LiteHRNetError
from tests.conftest import REPO, load_tool


@pytest.fixture(autouse=True)
def no_server_outlives_its_test():
    yield
    stop_converters()


def test_no_converters_venv_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv('LITEHRNET_MM_CONVERTERS', str(tmp_path / 'none'))
    with pytest.raises(LiteHRNetError, match='make install-converters'):
        converters_python()


def test_export_tool_looks_for_the_converters_venv_before_any_work(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / 'none'))
    config = REPO / 'configs/demo/td-hm_litehrnet-18_synthetic-128x96.py'
    missing = str(tmp_path / 'missing.pth')  # read when the model is built
    for runtime, suffix in [('executorch', '.pte'), ('litert', '.tflite')]:
        output = str(tmp_path / 'out' / f'm{suffix}')
        with pytest.raises(LiteHRNetError, match='make install-converters'):
            load_tool('tools/deploy/export.py').main(
                [
                    str(config),
                    missing,
                    '--runtime',
                    runtime,
                    '--output',
                    output,
                ]
            )
    assert [p.name for p in tmp_path.iterdir()] == []


def fake_venv(folder, script):
    """``folder`` as a venv whose python is the shell ``script``."""
    python = folder / 'bin' / 'python'
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\n' + script)
    python.chmod(0o755)
    (folder / 'lib' / 'python3.12' / 'site-packages').mkdir(parents=True)
    return python


def test_the_venv_is_named_by_its_folder_or_its_python(tmp_path, monkeypatch):
    python = fake_venv(tmp_path / 'venv', 'exit 0\n')
    for named in (tmp_path / 'venv', python):
        monkeypatch.setenv(ENV_VAR, str(named))
        assert converters_python() == str(python)
        assert converters_site_packages() == str(
            tmp_path / 'venv' / 'lib' / 'python3.12' / 'site-packages'
        )
    # Not executable: not a python.
    python.chmod(0o644)
    assert converters_site_packages() is None


def test_the_program_and_the_images_cross_as_files(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    example = torch.rand(2, 3, 8, 6)
    file = save_program(model, example, str(tmp_path))
    program = torch.export.load(file)
    x = torch.rand(2, 3, 8, 6)
    with torch.no_grad():
        assert torch.allclose(program.module()(x), model(x))
    images = [np.random.rand(1, 3, 8, 6) for _ in range(3)]
    saved = np.load(save_images(images, str(tmp_path)))
    assert saved.dtype == np.float32 and saved.shape == (3, 3, 8, 6)
    assert np.allclose(saved[2], images[2][0])


# The stand-in converter, serving: for each request path read, a report
# beside it that names the process, then the end-of-request line.
REPORTS = (
    'while read request; do\n'
    '  echo "serving $request"\n'
    '  echo "{\\"ops\\": {\\"CONV_2D\\": 1}, \\"pid\\": $$}" '
    '> "$(dirname "$request")/convert_report.json"\n'
    f'  echo "{DONE} ok"\n'
    'done\n'
)


def converted(tmp_path, name, job=None):
    work = tmp_path / name
    work.mkdir()
    return run_converter(job or {'runtime': 'litert', 'x': 1}, str(work))


def test_the_request_goes_in_and_the_report_comes_back(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', REPORTS)))
    report = converted(tmp_path, 'work')
    assert report == {'ops': {'CONV_2D': 1}, 'pid': report['pid']}
    with open(tmp_path / 'work' / 'convert_request.json') as f:
        request = json.load(f)
    assert request == {
        'runtime': 'litert',
        'x': 1,
        'report': str(tmp_path / 'work' / 'convert_report.json'),
    }


def test_one_process_serves_every_conversion(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', REPORTS)))
    first = converted(tmp_path, 'a')['pid']
    assert converted(tmp_path, 'b')['pid'] == first
    # One that has ended is replaced.
    os.kill(first, signal.SIGKILL)
    time.sleep(0.1)
    assert converted(tmp_path, 'c')['pid'] != first


def test_a_failed_conversion_names_the_runtime_exit_and_output(
    tmp_path, monkeypatch
):
    script = 'echo "no module named litert_torch"\nexit 3\n'
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', script)))
    with pytest.raises(
        RuntimeError,
        match=r'litert conversion failed '
        r'\(exit 3\)(.|\n)*no module named litert_torch',
    ):
        run_converter({'runtime': 'litert'}, str(tmp_path))


def test_a_conversion_that_raises_is_named_and_the_next_is_served(
    tmp_path, monkeypatch
):
    # The first request raises (its traceback, then "failed"); the
    # others are served.
    script = (
        'read request\n'
        'echo "ValueError: no kernel for upsample"\n'
        f'echo "{DONE} failed"\n'
    ) + REPORTS
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', script)))
    with pytest.raises(
        RuntimeError,
        match=r'executorch conversion failed \(the converter raised\)'
        r'(.|\n)*ValueError: no kernel for upsample',
    ):
        converted(tmp_path, 'a', {'runtime': 'executorch'})
    assert converted(tmp_path, 'b')['ops'] == {'CONV_2D': 1}


def job(tmp_path, precision, calib=None):
    return ExportJob(
        model=nn.Sequential(nn.Conv2d(3, 4, 1)).eval(),
        shape=(8, 6),
        batch=2,
        precision=precision,
        output=str(tmp_path / 'model.pte'),
        work_dir=str(tmp_path),
        calib=calib,
    )


def test_a_job_becomes_a_request_with_its_precision(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', REPORTS)))
    calib = [np.random.rand(1, 3, 8, 6).astype(np.float32)] * 2
    report = convert_in_venv(job(tmp_path, 'int8', calib), 'executorch')
    assert report == {
        'ops': {'CONV_2D': 1},
        'pid': report['pid'],
        'precision': 'int8',
    }
    with open(tmp_path / 'convert_request.json') as f:
        request = json.load(f)
    assert request['runtime'] == 'executorch'
    assert request['precision'] == 'int8'
    assert request['output'] == str(tmp_path / 'model.pte')
    assert os.path.isfile(request['program'])
    assert np.load(request['images']).shape == (2, 3, 8, 6)
    # int8 follows Lite-HRNet's design in both runtimes: the weightings'
    # convs on pooled maps stay fp32 (with the depthwise and first convs,
    # found in the graph).
    assert request['fp32_modules'] == ['crw', 'spatial_weighting']
    convert_in_venv(job(tmp_path, 'int8', calib), 'litert')
    with open(tmp_path / 'convert_request.json') as f:
        request = json.load(f)
    assert request['fp32_modules'] == ['crw', 'spatial_weighting']


def test_int8_without_the_design_quantizes_what_the_quantizer_takes(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', REPORTS)))
    calib = [np.random.rand(1, 3, 8, 6).astype(np.float32)] * 2
    made = job(tmp_path, 'int8', calib)
    made.int8_design = False
    for runtime in ('litert', 'executorch'):
        convert_in_venv(made, runtime)
        with open(tmp_path / 'convert_request.json') as f:
            assert json.load(f)['fp32_modules'] is None


def test_int8_without_calibration_images_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', REPORTS)))
    with pytest.raises(ValueError, match='executorch int8 needs calibration'):
        convert_in_venv(job(tmp_path, 'int8'), 'executorch')


def test_a_conversion_without_a_report_says_so(tmp_path, monkeypatch):
    script = f'while read request; do echo "{DONE} ok"; done\n'
    monkeypatch.setenv(ENV_VAR, str(fake_venv(tmp_path / 'venv', script)))
    with pytest.raises(
        RuntimeError,
        match=r'litert conversion failed \(it wrote no report .*'
        r'convert_report\.json\)',
    ):
        converted(tmp_path, 'a')
