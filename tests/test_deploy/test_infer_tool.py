"""tools/deploy: export from a config, then run the exported model on
pictures with ONNX Runtime or OpenVINO and draw the predictions."""

import importlib.util

import cv2
import numpy as np
import pytest

from litehrnet_mm import DeployError
from litehrnet_mm.deploy.export import export
from tests.conftest import REPO
from tests.test_deploy.test_exporters.phone import SHAPE
from tests.test_deploy.test_exporters.phone import tiny_model as small_model

pytest.importorskip('onnxruntime')
POSE = 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
SEG = (
    'configs/seg/cityscapes/fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py'
)


#: What a pose artifact's metadata needs for pictures (export.py writes
#: it from the config).
POSE_META = dict(
    task='pose',
    mean=[123.7, 116.3, 103.5],
    std=[58.4, 57.1, 57.4],
    bgr_to_rgb=True,
    keypoints=[str(k) for k in range(5)],
    skeleton=[[0, 1]],
    keypoint_colors=[[255, 0, 0]] * 5,
    link_colors=[[0, 0, 255]],
)


def tool(name):
    path = REPO / 'tools' / 'deploy' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pictures(tmp_path, count=3):
    folder = tmp_path / 'pictures'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = rng.integers(0, 255, (120 + 10 * i, 90, 3), np.uint8)
        cv2.imwrite(str(folder / f'{i}.png'), image)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_pose_export_then_infer_draws_the_skeleton(tmp_path, capsys, runtime):
    pytest.importorskip('mmpose')
    pytest.importorskip(runtime)
    model = tmp_path / ('pose.xml' if runtime == 'openvino' else 'pose.onnx')
    tool('export').main(
        [
            str(REPO / POSE),
            'none',
            '--runtime',
            runtime,
            '--shape',
            '128',
            '96',
            '--batch',
            '2',
            '--output',
            str(model),
        ]
    )
    folder = pictures(tmp_path)
    out = tmp_path / 'vis'
    # The artifact names its runtime.
    tool('infer').main(
        [str(model), str(folder), '--out-dir', str(out), '--kpt-thr', '0']
    )
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[1] == str(model)  # export.py prints the path last
    assert printed[-1].startswith(f'3 images with {runtime}: ')
    for i in range(3):
        drawn = cv2.imread(str(out / f'{i}.png'))
        original = cv2.imread(str(folder / f'{i}.png'))
        assert drawn.shape == original.shape
        assert (drawn != original).any(axis=2).mean() > 0.001


@pytest.mark.slow
def test_seg_export_then_infer_draws_the_mask(tmp_path, capsys):
    pytest.importorskip('mmseg')
    model = tmp_path / 'seg.onnx'
    tool('export').main(
        [
            str(REPO / SEG),
            'none',
            '--runtime',
            'onnxruntime',
            '--shape',
            '64',
            '128',
            '--output',
            str(model),
        ]
    )
    # A street-sized picture of noise: the tool draws whatever it is given
    # (the real samples of ../shared/data are not needed here).
    image = tmp_path / 'street.png'
    noise = np.random.default_rng(0).integers(0, 256, (128, 256, 3))
    cv2.imwrite(str(image), noise.astype(np.uint8))
    out = tmp_path / 'vis'
    tool('infer').main([str(model), str(image), '--out-dir', str(out)])
    drawn = cv2.imread(str(out / image.name))
    original = cv2.imread(str(image))
    # The mask is blended over the whole picture (the legend of an
    # untrained model's many classes beside it: a strip to its right).
    h, w = original.shape[:2]
    assert drawn.shape[0] >= h and drawn.shape[1] >= w
    assert (drawn[:h, :w] != original).any(axis=2).mean() > 0.5


def test_infer_never_writes_over_its_input_images(tmp_path, capsys):
    model = tmp_path / 'pose.onnx'
    export(small_model(), 'onnxruntime', 'fp32', SHAPE, str(model),
           metadata=POSE_META)  # fmt: skip
    folder = pictures(tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(DeployError, match='would replace the input image'):
        tool('infer').main([str(model), str(folder), '--out-dir', str(folder)])
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    # A file of the folder that is not a picture is skipped, said so.
    (folder / '9.png').write_bytes(b'not a picture')
    out = tmp_path / 'vis'
    tool('infer').main([str(model), str(folder), '--out-dir', str(out)])
    printed = capsys.readouterr().out
    assert 'skipped ' in printed and '9.png: not an image' in printed
    assert printed.strip().splitlines()[-1].startswith('3 images with ')
    assert sorted(p.name for p in out.iterdir()) == ['0.png', '1.png', '2.png']
    with pytest.raises(DeployError, match='--out-dir .*0.png is a file'):
        tool('infer').main(
            [str(model), str(folder), '--out-dir', str(out / '0.png')]
        )


def test_infer_writes_every_picture_or_says_why_first(tmp_path, capsys):
    model = tmp_path / 'pose.onnx'
    export(small_model(), 'onnxruntime', 'fp32', SHAPE, str(model),
           metadata=POSE_META)  # fmt: skip
    folder = pictures(tmp_path)
    # An image named without a suffix (OpenCV reads it, but writes no
    # file of that name): its picture is a PNG of that name.
    photo = tmp_path / 'photo'
    photo.write_bytes((folder / '0.png').read_bytes())
    out = tmp_path / 'vis'
    tool('infer').main([str(model), str(photo), '--out-dir', str(out)])
    drawn = cv2.imread(str(out / 'photo.png'))
    assert drawn.shape == cv2.imread(str(photo)).shape
    assert f'-> {out / "photo.png"}' in capsys.readouterr().out
    # A folder where a picture goes (OpenCV would write nothing and say
    # nothing): one error before anything is written.
    out = tmp_path / 'vis2'
    (out / '1.png').mkdir(parents=True)
    with pytest.raises(DeployError, match=r'vis2/1.png is a folder; expected'):
        tool('infer').main([str(model), str(folder), '--out-dir', str(out)])
    assert [p.name for p in out.iterdir()] == ['1.png']


def test_infer_stops_at_a_picture_it_could_not_write(tmp_path, monkeypatch):
    """cv2.imwrite says False (a full disk) instead of raising: the tool
    stops there with one error naming the picture, instead of printing it
    as written."""
    model = tmp_path / 'pose.onnx'
    export(small_model(), 'onnxruntime', 'fp32', SHAPE, str(model),
           metadata=POSE_META)  # fmt: skip
    folder = pictures(tmp_path)
    infer = tool('infer')
    monkeypatch.setattr(infer.cv2, 'imwrite', lambda *args: False)
    out = tmp_path / 'vis'
    with pytest.raises(DeployError, match=r'could not write .*vis/0.png'):
        infer.main([str(model), str(folder), '--out-dir', str(out)])
