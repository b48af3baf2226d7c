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


@pytest.mark.parametrize('demo', ['pose', 'seg'])
def test_the_demos_share_their_arguments(demo):
    """Both demos take ``--data`` and ``--data-root``, counts >= 1 (pictures
    >= 0) and ``--cfg-options`` as KEY=VALUE text for mim."""
    tool = load_tool(f'tools/demo/{demo}_demo.py')
    for flag in ('--data', '--data-root'):
        args = tool.parse_args([flag, 'somewhere', '--num-pictures', '0'])
        assert (args.data_root if demo == 'pose' else args.data) == 'somewhere'
    args = tool.parse_args(['--cfg-options', 'a.b=1', 'c=[1, 2]'])
    assert args.cfg_options == ['a.b=1', 'c=[1, 2]']


@pytest.mark.parametrize('demo', ['pose', 'seg'])
@pytest.mark.parametrize(
    'argv, message',
    [
        (['--num-train', '0'], "--num-train: '0'; expected an int >= 1"),
        (['--num-pictures', '-1'], "'-1'; expected an int >= 0"),
        (['--cfg-options', 'foo'], "'foo'; expected KEY=VALUE"),
    ],
)
def test_the_demos_refuse_bad_arguments_in_one_line(
    demo, argv, message, capsys
):
    with pytest.raises(SystemExit) as stop:
        load_tool(f'tools/demo/{demo}_demo.py').parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
