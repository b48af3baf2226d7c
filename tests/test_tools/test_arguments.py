"""The analysis tools refuse bad arguments with argparse's one line
(status 2) before building or timing anything."""

import pytest

from litehrnet_mm import ConfigError
from tests.conftest import POSE_DEMO, load_tool

CASES = [
    ('tools/analysis/benchmark.py', ['--threads', '0'],
     "--threads: '0'; expected an int >= 1"),
    ('tools/analysis/benchmark.py', ['--batch', '1', '0'],
     "--batch: '0'; expected an int >= 1"),
    ('tools/analysis/benchmark.py', ['--shape', '0', '0'],
     "--shape: '0'; expected an int >= 1"),
    ('tools/analysis/benchmark.py', ['--atol', '0'],
     "--atol: '0'; expected a number > 0"),
    ('tools/analysis/benchmark.py', ['--rounds', '0'],
     "--rounds: '0'; expected an int >= 1"),
    ('tools/analysis/benchmark.py', ['--pause', '-1'],
     '--pause -1; expected seconds >= 0'),
    ('tools/analysis/complexity.py', [], 'give a CONFIG or --arch (one of'),
    ('tools/analysis/complexity.py', ['--arch', '18', '--shape', '0', '0'],
     '--shape 0 0; expected H W'),
    ('tools/analysis/complexity.py', ['--arch', '18', '--num-keypoints', '0'],
     "--num-keypoints: '0'; expected an int >= 1"),
    ('tools/analysis/seg_complexity.py', ['--shape', '0', '0'],
     "--shape: '0'; expected an int >= 1"),
]  # fmt: skip


@pytest.mark.parametrize('tool, argv, message', CASES)
def test_bad_arguments_are_one_line(tool, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        load_tool(tool).main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_benchmark_keep_that_is_a_file_is_refused(tmp_path, capsys):
    file = tmp_path / 'kept'
    file.write_text('a file')
    with pytest.raises(SystemExit):
        load_tool('tools/analysis/benchmark.py').main(['--keep', str(file)])
    assert f'--keep {file} is a file' in capsys.readouterr().err
    assert file.read_text() == 'a file'


def test_seg_complexity_names_a_pose_config():
    with pytest.raises(ConfigError, match='not a segmentation config'):
        load_tool('tools/analysis/seg_complexity.py').main([str(POSE_DEMO)])
