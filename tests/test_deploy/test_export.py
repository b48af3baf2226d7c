"""One export for every runtime and precision (litehrnet_mm.deploy.export
and tools/deploy/export.py): checked before it is kept, metadata beside
it, one clear error for a pair that does not exist."""

import importlib.util
import textwrap

import numpy as np
import pytest
import torch

from litehrnet_mm import DeployError
from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.export import (
    check_dynamic_batch,
    check_output,
    check_pair,
    check_shape,
    export,
)
from litehrnet_mm.deploy.exporters import PRECISIONS
from litehrnet_mm.deploy.runtimes import load_runtime
from tests.conftest import REPO
from tests.test_deploy.test_exporters.phone import SHAPE
from tests.test_deploy.test_exporters.phone import tiny_model as small_model

POSE = 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'


def tool():
    path = REPO / 'tools' / 'deploy' / 'export.py'
    spec = importlib.util.spec_from_file_location('export', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_runtime_exports_fp32():
    for runtime, precisions in PRECISIONS.items():
        assert 'fp32' in precisions, runtime


@pytest.mark.parametrize(
    'runtime, name', [('onnxruntime', 'm.onnx'), ('openvino', 'm.xml')]
)
def test_fp32_artifact_is_checked_and_carries_its_metadata(
    tmp_path, runtime, name
):
    model = small_model()
    x = torch.rand(2, 3, *SHAPE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x).numpy()
    scale = max(1.0, float(np.abs(expected).max()))
    output = str(tmp_path / 'out' / name)
    result = export(
        model, runtime, 'fp32', SHAPE, output, batch=2,
        metadata={'task': 'pose'}, atol=1e-4,
    )  # fmt: skip
    assert result.path == output
    assert result.relative_diff <= 1e-4
    meta = read_metadata(output)
    assert meta['task'] == 'pose'
    assert meta['runtime'] == runtime and meta['precision'] == 'fp32'
    assert meta['input_shape'] == [2, 3, *SHAPE]
    assert meta['outputs'] == [[5, 16, 12]]
    assert meta['max_abs_diff'] == result.max_abs_diff
    # load_runtime takes the runtime and its options from the metadata.
    compiled = load_runtime(output)
    assert compiled.name == runtime
    if runtime == 'openvino':
        assert compiled.inference_precision == 'f32'
    (got,) = compiled(x.numpy())
    assert np.abs(got - expected).max() <= 1e-4 * scale


def test_an_artifact_that_fails_its_check_is_not_written(tmp_path):
    output = tmp_path / 'm.onnx'
    with pytest.raises(RuntimeError, match='Nothing was written'):
        export(small_model(), 'onnxruntime', 'fp32', SHAPE, str(output),
               atol=-1.0)  # fmt: skip
    assert not list(tmp_path.iterdir())
    # Nor the folders it made for the artifact (made first, to fail early);
    # a folder that was there, empty, stays.
    (tmp_path / 'kept').mkdir()
    nested = tmp_path / 'kept' / 'a' / 'b' / 'm.onnx'
    with pytest.raises(RuntimeError, match='relative to the output scale'):
        export(small_model(), 'onnxruntime', 'fp32', SHAPE, str(nested),
               atol=-1.0)  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ['kept']
    assert not list((tmp_path / 'kept').iterdir())


def test_pairs_that_do_not_exist_get_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="runtime='tensorrt'; expected one"):
        check_pair('tensorrt', 'fp32')
    with pytest.raises(ValueError, match="no precision 'int4'; expected"):
        check_pair('openvino', 'int4')
    with pytest.raises(ValueError, match='batch=0'):
        export(small_model(), 'onnxruntime', 'fp32', SHAPE,
               str(tmp_path / 'm.onnx'), batch=0)  # fmt: skip


def test_tool_refuses_a_pair_before_building_anything(capsys):
    with pytest.raises(SystemExit) as e:
        tool().main(
            ['no-such-config.py', 'none', '--runtime', 'onnxruntime']
            + ['--precision', 'int4', '--output', 'x.onnx']
        )
    assert e.value.code == 2
    assert "no precision 'int4'" in capsys.readouterr().err


SEG_CONFIG = """
default_scope = 'mmseg'
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18',
                  out_indices=(0, 1, 2, 3)),
    decode_head=dict(
        type='FCNHead', in_channels=[40, 40, 80, 160], in_index=(0, 1, 2, 3),
        channels=320, input_transform='resize_concat', kernel_size=1,
        num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=19,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False)),
    test_cfg=dict(mode='whole'))
"""


def test_tool_exports_a_seg_config_and_prints_the_path_last(tmp_path, capsys):
    pytest.importorskip('mmseg')
    config = tmp_path / 'seg.py'
    config.write_text(textwrap.dedent(SEG_CONFIG))
    output = tmp_path / 'seg.onnx'
    tool().main(
        [str(config), 'none', '--runtime', 'onnxruntime', '--shape', '64']
        + ['128', '--output', str(output)]
    )
    printed = capsys.readouterr().out.splitlines()
    assert 'max abs diff' in printed[-2] and '(ok' in printed[-2]
    assert printed[-1] == str(output)
    meta = read_metadata(str(output))
    assert meta['task'] == 'seg' and len(meta['classes']) == 19
    x = np.random.rand(1, 3, 64, 128).astype(np.float32)
    (got,) = load_runtime(str(output))(x)
    assert got.shape == (1, 19, 16, 32)


def test_an_output_that_cannot_take_the_artifact_is_refused_first(tmp_path):
    with pytest.raises(
        DeployError, match=r'openvino writes a .xml file; .*m.xml'
    ):
        check_output(str(tmp_path / 'm.onnx'), 'openvino')
    with pytest.raises(DeployError, match='onnxruntime writes a .onnx'):
        check_output(str(tmp_path / 'm'), 'onnxruntime')
    (tmp_path / 'dir.onnx').mkdir()
    with pytest.raises(DeployError, match='dir.onnx is a folder'):
        check_output(str(tmp_path / 'dir.onnx'), 'onnxruntime')
    (tmp_path / 'm.xml.json').mkdir()
    with pytest.raises(DeployError, match=r'm.xml.json is a folder'):
        check_output(str(tmp_path / 'm.xml'), 'openvino')
    file = tmp_path / 'file'
    file.write_text('kept')
    with pytest.raises(DeployError, match=f'{file} is a file'):
        check_output(str(file / 'm.onnx'), 'onnxruntime')
    # Nothing the export reads is written over (here a .bin of the same
    # name as the weights an OpenVINO IR writes).
    weights = tmp_path / 'w.bin'
    weights.write_text('kept')
    with pytest.raises(DeployError, match='replace a file this export reads'):
        check_output(str(tmp_path / 'w.xml'), 'openvino', [str(weights)])
    assert weights.read_text() == 'kept' and file.read_text() == 'kept'
    # A folder that does not exist yet is made.
    check_output(str(tmp_path / 'new' / 'm.onnx'), 'onnxruntime')
    assert (tmp_path / 'new').is_dir()


def test_an_output_that_would_replace_another_artifacts_weights_is_refused(
    tmp_path,
):
    # OpenVINO's m.xml and ncnn's m.param both keep their weights in m.bin:
    # exporting one beside the other would break the first one.
    for existing, runtime, output in [
        ('m.xml', 'ncnn', 'm.param'),
        ('m.param', 'openvino', 'm.xml'),
    ]:
        folder = tmp_path / runtime
        folder.mkdir()
        (folder / existing).write_text('graph')
        (folder / 'm.bin').write_text('kept')
        with pytest.raises(
            DeployError,
            match=rf'm.bin would replace the weights of the \w+ artifact '
            rf'.*{existing}; expected another --output, e.g. .*m_{runtime}',
        ):
            check_output(str(folder / output), runtime)
        assert (folder / 'm.bin').read_text() == 'kept'
        # Its own earlier artifact is replaced, as any export replaces it;
        # so is a .bin that no other artifact owns.
        (folder / existing).unlink()
        check_output(str(folder / output), runtime)


def test_a_free_batch_axis_is_refused_where_the_artifact_has_a_static_one(
    tmp_path,
):
    # ExecuTorch and LiteRT convert a static program: asked for a free
    # batch axis, they wrote a batch-1 artifact whose metadata said 'batch'.
    for runtime in ['executorch', 'litert']:
        with pytest.raises(
            DeployError,
            match=f'{runtime} artifacts take a static batch; expected '
            rf'--batch N .* is for ncnn, onnxruntime, openvino\)',
        ):
            check_dynamic_batch(runtime, True)
        check_dynamic_batch(runtime, False)
        with pytest.raises(DeployError, match='take a static batch'):
            export(small_model(), runtime, 'fp32', SHAPE,
                   str(tmp_path / 'm.pte'), dynamic_batch=True)  # fmt: skip
    for runtime in ['ncnn', 'onnxruntime', 'openvino']:
        check_dynamic_batch(runtime, True)
    assert not list(tmp_path.iterdir())


def test_tool_refused_after_its_output_check_leaves_no_folder(tmp_path):
    # The tool checks --output first, making its folders; an error after
    # that (here the checkpoint, read when the model is built) takes them
    # away again, as export() does for its own errors.
    output = tmp_path / 'new' / 'deep' / 'm.onnx'
    missing = str(tmp_path / 'missing.pth')
    args = [str(REPO / POSE), missing, '--runtime', 'onnxruntime']
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool().main(args + ['--output', str(output)])
    assert not list(tmp_path.iterdir())


def test_shapes_are_two_ints_of_at_least_one():
    assert check_shape([64, 48]) == (64, 48)
    assert check_shape((np.int64(7), 5)) == (7, 5)
    for bad in [(0, 48), (-1, 48), (64,), (64.0, 48), ('64', '48'), 64]:
        with pytest.raises(DeployError, match='expected .*two ints >= 1'):
            check_shape(bad)
    with pytest.raises(DeployError, match='shape='):
        export(small_model(), 'onnxruntime', 'fp32', (0, 48), 'm.onnx')


def test_tool_refuses_bad_arguments_before_building_anything(tmp_path, capsys):
    export_tool = tool()
    config = str(
        REPO
        / 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
    )
    base = [config, 'none', '--runtime', 'openvino', '--output']
    cases = [
        (['m.xml', '--shape', '0', '96'], '--shape 0 96; expected H W'),
        (['m.xml', '--shape', '1', '2', '3'], '--shape 1 2 3; expected'),
        (['m.xml', '--precision', 'int8', '--calib-images', '-5'],
         "argument --calib-images: '-5'; expected an int >= 1"),
        (['m.xml', '--atol', '-1'], '--atol -1; expected a number > 0'),
        (['m.xml', '--cfg-options', 'model.backbone.arch'],
         '--cfg-options model.backbone.arch: expected KEY=VALUE'),
        (['m.xml', '--calib-dir', str(tmp_path)],
         '--calib-dir goes with --precision int8'),
        (['m.tflite', '--runtime', 'litert', '--dynamic-batch'],
         'litert artifacts take a static batch; expected --batch N'),
    ]  # fmt: skip
    for args, message in cases:
        with pytest.raises(SystemExit):
            export_tool.main(base + [str(tmp_path / args[0])] + args[1:])
        assert message in capsys.readouterr().err
    with pytest.raises(DeployError, match='openvino writes a .xml file'):
        export_tool.main(base + [str(tmp_path / 'm.onnx')])
    assert not list(tmp_path.iterdir())


def test_calibration_images_of_another_form_are_named_before_any_work(
    tmp_path,
):
    """Raw errors late (NNCF's shape mismatch after minutes, numpy's
    'truth value of an array'), or an artifact calibrated on pixels."""
    good = np.zeros((1, 3, *SHAPE), np.float32)
    cases = [
        (np.zeros((4, 3, *SHAPE), np.float32), 'calib is a ndarray'),
        ([good, np.zeros((2, 3, *SHAPE), np.float32)],
         'calib[1] is an array of shape (2, 3, 64, 48) of float32'),
        ([good[0]], 'calib[0] is an array of shape (3, 64, 48)'),
        ([np.zeros((1, 3, 80, 60), np.float32)], 'of shape (1, 3, 80, 60)'),
        ([good.astype(np.uint8)], 'of uint8; expected a list of float32 '
         'arrays of shape 1x3x64x48 (normalised images'),
        ([None], 'calib[0] is a NoneType'),
    ]  # fmt: skip
    for calib, message in cases:
        with pytest.raises(DeployError) as error:
            export(small_model(), 'openvino', 'int8', SHAPE,
                   str(tmp_path / 'm.xml'), calib=calib)  # fmt: skip
        assert message in str(error.value)
    assert not list(tmp_path.iterdir())


def test_an_upper_case_suffix_is_refused_before_any_work(tmp_path):
    """OpenVINO's serializer takes only '.xml' (it failed after the
    export)."""
    with pytest.raises(DeployError, match=r'writes a \.xml file; expected '
                       r'a path such as .*upper\.xml'):  # fmt: skip
        export(small_model(), 'openvino', 'fp32', SHAPE,
               str(tmp_path / 'upper.XML'))  # fmt: skip


def test_a_hosts_own_model_exports_as_its_tensor_forward(tmp_path):
    """mmpose's init_model gives a model whose forward wants data samples:
    it exports through its _forward (was a TypeError after the backbone
    had been switched in place); numpy ints are ints."""
    pytest.importorskip('mmpose')
    from mmpose.apis import init_model

    from tests.conftest import POSE_DEMO

    model = init_model(str(POSE_DEMO), None, device='cpu')
    x = torch.rand(1, 3, 128, 96)
    with torch.no_grad():
        expected = model._forward(x).numpy()
    output = str(tmp_path / 'host.onnx')
    export(model, 'onnxruntime', 'fp32', (np.int64(128), 96), output,
           batch=np.int64(1), atol=1e-4)  # fmt: skip
    (got,) = load_runtime(output)(x.numpy())
    assert np.abs(got - expected).max() <= 1e-4 * max(
        1, np.abs(expected).max()
    )


def test_an_artifact_that_computes_something_else_is_refused(
    tmp_path, monkeypatch
):
    """The check runs the artifact: an exporter that writes another
    model's graph (the same network, other weights) is refused at the
    tool's tolerance, with the difference relative to the output scale
    that PyTorch gives for the two models on the check input (seeded
    noise), and nothing is written."""
    import dataclasses

    from litehrnet_mm.deploy.export import ParityError
    from litehrnet_mm.deploy.exporters import EXPORTERS
    from litehrnet_mm.deploy.onnx import switch_backbones

    model, other = small_model(seed=0), small_model(seed=1)
    x = torch.rand(1, 3, *SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, wrong = model(x), other(x)
    scale = float(expected.abs().max())
    relative = float((wrong - expected).abs().max()) / max(1.0, scale)
    assert relative > 1e-2
    switch_backbones(other)
    write = EXPORTERS['onnxruntime']
    monkeypatch.setitem(
        EXPORTERS,
        'onnxruntime',
        lambda job: write(dataclasses.replace(job, model=other)),
    )
    output = tmp_path / 'm.onnx'
    with pytest.raises(ParityError) as error:
        export(model, 'onnxruntime', 'fp32', SHAPE, str(output), atol=1e-4)
    got = float(str(error.value).split(' by ')[1].split()[0])
    assert got == pytest.approx(relative, rel=1e-3)
    assert not list(tmp_path.iterdir())


def test_the_check_runs_on_the_calibration_images_when_given(
    tmp_path, monkeypatch
):
    """With calibration images the check input is the first batch of them
    (the images the model is run on), as the metadata says; without, the
    seeded noise."""
    from litehrnet_mm.deploy.runtimes import RUNTIMES
    from tests.test_deploy.test_exporters.phone import calibration, images

    seen = []

    class Recording(RUNTIMES['onnxruntime']):
        def __call__(self, x):
            seen.append(x.copy())
            return super().__call__(x)

    monkeypatch.setitem(RUNTIMES, 'onnxruntime', Recording)
    calib = calibration(3)
    result = export(small_model(), 'onnxruntime', 'fp32', SHAPE,
                    str(tmp_path / 'a.onnx'), batch=2, calib=calib,
                    atol=1e-4)  # fmt: skip
    assert np.array_equal(seen[0], np.concatenate(calib[:2]))
    assert result.metadata['check_input'] == 'calibration images'
    result = export(small_model(), 'onnxruntime', 'fp32', SHAPE,
                    str(tmp_path / 'b.onnx'), atol=1e-4)  # fmt: skip
    assert np.array_equal(seen[1], images(1, seed=1))
    assert result.metadata['check_input'] == 'uniform noise'


def test_a_free_batch_axis_is_written_in_the_metadata(tmp_path):
    """dynamic_batch leaves the batch axis free: the metadata says so
    ('batch', which the predictor reads as one image at a time) and the
    artifact runs other batch sizes."""
    output = str(tmp_path / 'm.onnx')
    result = export(small_model(), 'onnxruntime', 'fp32', SHAPE, output,
                    dynamic_batch=True, atol=1e-4)  # fmt: skip
    assert read_metadata(output)['input_shape'] == ['batch', 3, *SHAPE]
    assert result.metadata['input_shape'][0] == 'batch'
    x = np.random.default_rng(0).random((3, 3, *SHAPE), np.float32)
    (got,) = load_runtime(output)(x)
    assert got.shape == (3, 5, 16, 12)
