"""tools/analysis/second_harness.py: the table of benchmark_app's figures
for the artifacts of a folder, and one error for a folder without any."""

import pytest

from tests.conftest import load_tool

pytest.importorskip('openvino')


def _main():
    return load_tool('tools/analysis/second_harness.py').main


def test_a_folder_without_artifacts_is_one_error(tmp_path):
    with pytest.raises(SystemExit, match='no OpenVINO artifact at'):
        _main()([str(tmp_path)])


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
