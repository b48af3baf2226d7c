"""tools/deploy/accuracy.py: every runtime and precision exported, then
through the host's test loop, in one table that says what ships."""

import subprocess
import sys

import pytest
import torch

from litehrnet_mm.deploy.artifact import write_metadata
from litehrnet_mm.utils.mim import child_env
from tests.conftest import REPO, load_tool

TOOL = REPO / 'tools' / 'deploy' / 'accuracy.py'
SEG_DEMO = REPO / 'configs' / 'demo'
SEG_DEMO /= 'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py'


def load_accuracy_tool():
    return load_tool('tools/deploy/accuracy.py')


def artifact(tmp_path, name, diff):
    path = str(tmp_path / name)
    write_metadata(path, dict(max_abs_diff=diff, output_scale=2.0))
    return path


def test_table_judges_each_precision_against_pytorch(tmp_path):
    tool = load_accuracy_tool()
    fp32 = artifact(tmp_path, 'a_fp32.xml', 2e-5)
    near = artifact(tmp_path, 'a_int8.xml', 0.1)
    far = artifact(tmp_path, 'b_int8.onnx', 0.4)
    bf16 = artifact(tmp_path, 'a_bf16.xml', 2e-5)
    exports = [
        ('openvino', 'fp32', fp32, 1.0),
        ('openvino', 'int8', near, 1.0),
        ('onnxruntime', 'int8', far, 1.0),
        ('ncnn', 'fp16', None, 1.0),
        ('openvino', 'bf16', bf16, 1.0),
    ]
    metrics = {
        'PyTorch': {'coco/AP': 0.74},
        fp32: {'coco/AP': 0.74},
        near: {'coco/AP': 0.731},
        far: {'coco/AP': 0.72},
        bf16: {'coco/AP': 0.74},
    }
    rows = tool.table(exports, metrics, 'coco/AP', 0.01, {bf16: 'f32'})
    cells = [row.strip('| ').split(' | ') for row in rows[2:]]
    assert cells[0][:3] == ['PyTorch', 'fp32', '0.7400']
    assert cells[1] == ['openvino', 'fp32', '0.7400', '+0.0000', '1.0e-05']
    assert cells[2][-1] == 'yes' and cells[2][3] == '-0.0090'
    assert cells[3][-1] == 'no' and cells[3][4] == '2.0e-01'
    assert cells[4][:3] == ['ncnn', 'fp16', 'export failed']
    assert cells[4][-1] == 'no'
    # A bf16 artifact that this CPU ran in f32 measured f32: it does not
    # ship on that figure.
    assert cells[5][-1] == 'not measured: ran in f32 here'


def test_bad_arguments_get_one_clear_error(tmp_path, capsys):
    tool = load_accuracy_tool()
    with pytest.raises(SystemExit):
        tool.parse_args(
            [
                str(SEG_DEMO),
                'x.pth',
                '--shape',
                '64',
                '64',
                '--runtimes',
                'trt',
            ]
        )
    assert "runtime='trt'; expected one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.parse_args([str(SEG_DEMO), str(tmp_path / 'no.pth')])
    with pytest.raises(SystemExit):
        tool.parse_args(
            [str(SEG_DEMO), str(tmp_path / 'no.pth'), '--shape', '64', '64']
        )
    assert 'no.pth not found; expected the .pth' in capsys.readouterr().err


@pytest.mark.slow
def test_exports_and_evaluates_on_generated_seg_data(tmp_path):
    """The seg demo's config on a few generated images: the OpenVINO fp32
    artifact, evaluated in mmseg's test loop (evaluate_artifacts), gives
    PyTorch's mIoU, and the table and its file say so."""
    pytest.importorskip('mmseg')
    pytest.importorskip('openvino')
    from mmengine.config import Config

    from litehrnet_mm.analysis.models import build_from_config
    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset

    root = tmp_path / 'data'
    generate_seg_dataset(str(root), 2, 4, size=(64, 64), seed=0)
    model = build_from_config(Config.fromfile(str(SEG_DEMO)))
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': model.model.state_dict()}, checkpoint)
    options = [
        f'{loader}.{key}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key in (
            f'dataset.data_root={root}',
            'num_workers=0',
            'persistent_workers=False',
        )
    ]
    proc = subprocess.run(
        [sys.executable, str(TOOL), str(SEG_DEMO), str(checkpoint)]
        + ['--shape', '64', '64', '--runtimes', 'openvino']
        + ['--precisions', 'fp32', '--threads', '1']
        + ['--out-dir', str(tmp_path / 'out'), '--cfg-options', *options],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert '[1/1] export openvino fp32 ->' in proc.stdout
    (row,) = [
        line.strip('| ').split(' | ')
        for line in proc.stdout.splitlines()
        if line.startswith('| openvino')
    ]
    assert row[1] == 'fp32' and abs(float(row[3])) <= 0.2
    assert float(row[4]) <= 1e-4
    table = (tmp_path / 'out' / 'accuracy.md').read_text()
    assert '| openvino | fp32 |' in table


def test_max_drop_adds_an_openvino_int8_row_with_accuracy_control(
    tmp_path, monkeypatch, capsys
):
    tool = load_accuracy_tool()
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(SystemExit):
        tool.parse_args([str(SEG_DEMO), str(checkpoint), '--shape', '64',
                         '64', '--max-drop', '-0.5'])  # fmt: skip
    assert 'expected a number >= 0' in capsys.readouterr().err
    args = tool.parse_args(
        [str(SEG_DEMO), str(checkpoint), '--shape', '64', '64']
        + ['--runtimes', 'openvino', '--precisions', 'int8']
        + ['--max-drop', '0.5']
    )
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(tool.subprocess, 'run', run)
    done = tool.export_all(args, str(SEG_DEMO), str(tmp_path))
    assert [label for _, label, _, _ in done] == ['int8', 'int8, drop <= 0.5']
    assert '--max-drop' not in commands[0]
    assert commands[1][-2:] == ['--max-drop', '0.5']
    assert done[1][2].endswith('openvino_int8_control.xml')
