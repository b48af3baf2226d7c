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
     "--atol: '0'; expected a finite number > 0"),
    ('tools/analysis/benchmark.py', ['--rounds', '0'],
     "--rounds: '0'; expected an int >= 1"),
    ('tools/analysis/benchmark.py', ['--pause', '-1'],
     "--pause: '-1'; expected seconds, a finite number >= 0"),
    ('tools/analysis/benchmark.py', ['--pause', 'nan'],
     "--pause: 'nan'; expected seconds, a finite number >= 0"),
    ('tools/analysis/benchmark.py', ['--block-seconds', 'inf'],
     "--block-seconds: 'inf'; expected a finite number > 0"),
    # A precision no asked runtime has: its paths would vanish unsaid.
    ('tools/analysis/benchmark.py', ['--precisions', 'fp32', 'fp16'],
     '--precisions fp16: none of --runtimes onnxruntime openvino has it '
     '(fp16 on litert, ncnn)'),
    # Options a mode would ignore.
    ('tools/analysis/benchmark.py', ['--profile', '--task', 'seg'],
     '--profile profiles ours (Lite-HRNet pose, --arch) on ONNX Runtime '
     'and OpenVINO at batch 1; it takes no --task seg'),
    ('tools/analysis/benchmark.py', ['--train', '--runtimes', 'openvino',
                                     '--no-peers'],
     "--train times the training step of mmpose's port and ours, in "
     'PyTorch; it takes no --runtimes, --no-peers'),
    ('tools/analysis/benchmark.py', ['--train', '--profile'],
     '--train and --profile: one at a time'),
    ('tools/analysis/benchmark.py', ['--train-batch', '4'],
     '--train-batch goes with --train'),
    ('tools/analysis/complexity.py', [], 'give a CONFIG or --arch (one of'),
    ('tools/analysis/complexity.py', ['--arch', '18', '--shape', '0', '0'],
     '--shape 0 0; expected H W'),
    ('tools/analysis/complexity.py', ['--arch', '18', '--num-keypoints', '0'],
     "--num-keypoints: '0'; expected an int >= 1"),
    ('tools/analysis/complexity.py', [str(POSE_DEMO), '--num-keypoints', '3'],
     '--num-keypoints goes with --arch (a config has its own head)'),
    ('tools/analysis/complexity.py', ['--arch', '19'],
     "--arch: invalid choice: '19'"),
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


def test_benchmark_keep_that_cannot_be_made_is_refused(tmp_path, capsys):
    file = tmp_path / 'kept'
    file.write_text('a file')
    with pytest.raises(SystemExit):
        load_tool('tools/analysis/benchmark.py').main(
            ['--keep', str(file / 'inside')]
        )
    assert (
        f'--keep {file}/inside: {file} is a file; expected a folder that '
        'exists or can be made' in capsys.readouterr().err
    )


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
