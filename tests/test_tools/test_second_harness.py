"""tools/analysis/second_harness.py: the table of benchmark_app's figures
for the artifacts of a folder, and one error for a folder without any."""

import pytest

from tests.conftest import load_tool

pytest.importorskip('openvino')


def _main():
    return load_tool('tools/analysis/second_harness.py').main


def test_bad_input_is_one_error_before_any_timing(tmp_path, capsys):
    xml = tmp_path / 'nobin.xml'
    xml.write_text('<net/>')
    for argv, message in [
        ([str(tmp_path / 'empty')], 'no OpenVINO artifact at'),
        ([str(xml)], 'nobin.xml: not an OpenVINO IR with its'),
        ([str(tmp_path / 'x.pth')], 'no OpenVINO artifact at'),
        ([str(xml), '--threads', '0'], "--threads: '0'; expected an int"),
    ]:
        with pytest.raises(SystemExit) as stop:
            _main()(argv)
        assert stop.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_tabulates_the_kept_artifacts(tmp_path, capsys):
    from litehrnet_mm.deploy.export import export
    from tests.test_deploy.test_exporters.phone import SHAPE, tiny_model

    for batch in (1, 2):
        path = str(tmp_path / f'tiny-b{batch}.xml')
        export(tiny_model(), 'openvino', 'fp32', SHAPE, path, batch=batch)
    _main()(
        [str(tmp_path), '--threads', '1', '--rounds', '1', '--seconds', '1']
    )
    out = capsys.readouterr().out
    assert out.startswith("OpenVINO's benchmark_app, ")
    rows = [line for line in out.splitlines() if line.startswith('| tiny-')]
    assert [r.split(' | ')[0:2] for r in rows] == [
        ['| tiny-b1.xml', '1'],
        ['| tiny-b2.xml', '2'],
    ]
    assert rows[0].endswith('| 1.00 |')
