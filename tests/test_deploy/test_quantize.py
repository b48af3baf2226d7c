"""Reduced precision artifacts: int8 (OpenVINO through NNCF, ONNX Runtime
in QDQ form), written by the one export, compiled by their runtime with the
precision their metadata names, the int8 design's fp32 convs left alone,
calibration repeatable (bf16, which is OpenVINO's inference precision hint
only: tests/test_deploy/test_exporters/test_openvino.py).

What a precision costs in accuracy is measured on the trained demo models
(tools/deploy/evaluate.py); with random weights the outputs say nothing
about it, so here they are only checked for shape and finiteness.
"""

import numpy as np
import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.models import PoseModel
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.artifact import ir_precision, read_metadata
from litehrnet_mm.deploy.export import export
from litehrnet_mm.deploy.onnx import switch_backbones, write_onnx
from litehrnet_mm.deploy.quantize import (
    calibration_batches,
    fp32_convs,
)
from litehrnet_mm.deploy.runtimes import load_runtime

pytest.importorskip('openvino')
SHAPE = (64, 48)
# One module per stage, one block per branch: every kind of layer of
# Lite-HRNet in a graph small enough to quantize in seconds.
SMALL = dict(
    stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
    num_stages=3,
    stages_spec=dict(
        num_modules=(1, 1, 1),
        num_branches=(2, 3, 4),
        num_blocks=(1, 1, 1),
        module_type=('LITE',) * 3,
        with_fuse=(True,) * 3,
        reduce_ratios=(8, 8, 8),
        num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320)),
    ),
    with_head=True,
)


def small_model():
    model = PoseModel(LiteHRNet(extra=SMALL), 17)
    return random_weights_(model, (2, 3, *SHAPE)).eval()


def images(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 3, *SHAPE, generator=gen).numpy() for _ in range(n)]


def check_outputs(runtime, model):
    x = images(1, seed=5)[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    (got,) = runtime(x)
    assert got.shape == expected.shape
    assert np.isfinite(got).all()
    return got


@pytest.fixture(scope='module')
def onnx_file(tmp_path_factory):
    model = small_model()
    switch_backbones(model)
    file = str(tmp_path_factory.mktemp('onnx') / 'model.onnx')
    return write_onnx(model, SHAPE, file)


@pytest.fixture(scope='module')
def ov_int8(tmp_path_factory):
    model = small_model()
    output = str(tmp_path_factory.mktemp('ov') / 'int8.xml')
    result = export(model, 'openvino', 'int8', SHAPE, output, calib=images(4))
    return model, result


def test_fp32_convs_are_depthwise_first_and_pooled(onnx_file):
    import onnx

    graph = onnx.load(onnx_file).graph
    weights = {t.name: t for t in graph.initializer}
    keep = set(fp32_convs(onnx_file))
    convs = [n for n in graph.node if n.op_type == 'Conv']
    for node in convs:
        depthwise = weights[node.input[1]].dims[1] == 1
        first = node.input[0] == graph.input[0].name
        pooled = '/crw/' in node.name or '/spatial_weighting/' in node.name
        assert (node.name in keep) == (depthwise or first or pooled), node.name
    # The dense convs of the fusions, transitions and head stay int8.
    assert 0 < len(keep) < len(convs)


def test_calibration_batches_match_the_static_batch():
    batches = calibration_batches(images(5), 2)
    assert [b.shape for b in batches] == [(2, 3, *SHAPE)] * 2
    assert np.array_equal(batches[1][0], images(5)[2][0])
    with pytest.raises(ValueError, match='at least 4'):
        calibration_batches(images(3), 4)
    # Every image in a batch when the count is a multiple of the batch.
    batches = calibration_batches(images(4), 2)
    assert np.array_equal(np.concatenate(batches), np.concatenate(images(4)))
    (batch,) = calibration_batches(images(1), 1)
    assert np.array_equal(batch, images(1)[0])


def test_calibration_reads_the_training_split_as_the_test_loop_does():
    """The loader of the calibration and validation images: the training
    split's files through the test pipeline, in a fixed order (no
    shuffling), without detection boxes, at the batch size asked."""
    from mmengine.config import Config

    from litehrnet_mm.deploy.quantize import training_split_loader
    from tests.conftest import POSE_DEMO

    cfg = Config.fromfile(str(POSE_DEMO))
    cfg.test_dataloader.dataset.bbox_file = 'boxes.json'
    loader = training_split_loader(cfg, batch_size=3)
    train = cfg.train_dataloader.dataset
    assert loader['sampler'] == dict(type='DefaultSampler', shuffle=False)
    assert loader['batch_size'] == 3
    dataset = loader['dataset']
    for key in ('ann_file', 'data_prefix', 'data_root'):
        assert dataset[key] == train[key]
    assert dataset['pipeline'] == cfg.test_dataloader.dataset.pipeline
    assert dataset['test_mode'] is True and 'bbox_file' not in dataset
    # The config itself is left as it was.
    assert cfg.test_dataloader.dataset.bbox_file == 'boxes.json'
    assert training_split_loader(cfg)['batch_size'] == (
        cfg.test_dataloader.batch_size
    )


@pytest.mark.slow
def test_openvino_int8_is_written_compiled_and_runs_f32_elsewhere(ov_int8):
    import openvino as ov

    model, result = ov_int8
    assert result.path.endswith('int8.xml')
    meta = read_metadata(result.path)
    assert meta['precision'] == 'int8' and meta['runtime'] == 'openvino'
    # The ops left unquantized compute in f32 (not bf16 on CPUs that
    # have it): what was calibrated is what runs.
    assert meta['runtime_options'] == {'inference_precision': 'f32'}
    runtime = load_runtime(result.path, threads=1)
    assert runtime.inference_precision == 'f32'
    check_outputs(runtime, model)
    ir = ov.Core().read_model(result.path)
    # So does the IR itself, for OpenVINO in any application.
    assert ir_precision(ir) == 'f32'
    ops = list(ir.get_ops())
    assert any(op.get_type_name() == 'FakeQuantize' for op in ops)
    # OpenVINO's form is quantized whole: the depthwise convs too (its
    # design keeps no conv in fp32; ONNX Runtime's does).
    sources = [
        op.input_value(0).get_node().get_type_name()
        for op in ops
        if op.get_type_name() == 'GroupConvolution'
    ]
    assert sources and 'FakeQuantize' in sources
    # The dense 1x1 convs run int8 in the compiled model.
    precisions = {
        op.get_rt_info()['runtimePrecision'].astype(str)
        for op in runtime.compiled.get_runtime_model().get_ops()
        if op.get_rt_info()['layerType'].astype(str) == 'Convolution'
    }
    assert precisions & {'u8', 'i8'}


def activation_ranges(ir):
    """(input_low, input_high) of each FakeQuantize on an activation."""
    ranges = []
    for op in ir.get_ops():
        if op.get_type_name() != 'FakeQuantize' or (
            op.input_value(0).get_node().get_type_name() == 'Constant'
        ):
            continue
        low, high = (op.input_value(i).get_node().get_data() for i in (1, 2))
        ranges.append((float(low.min()), float(high.max())))
    return ranges


@pytest.mark.slow
def test_openvino_int8_of_pose_quantizes_only_the_convs_inputs(ov_int8):
    """OpenVINO's int8 of a Lite-HRNet pose model (quantize.OPENVINO_INT8):
    no sum (a fusion's, the head's), weighting multiply, pool (a fixed
    kernel, or pooling matrices where the sizes do not divide) or resize
    reads a quantized input; every activation quantizer feeds a conv
    (through at most the concatenation or split of the pooled maps), and
    the signed activations get asymmetric ranges (NNCF's symmetric ones
    have low = -high * 128 / 127)."""
    import openvino as ov

    _, result = ov_int8
    ir = ov.Core().read_model(result.path)

    def data_inputs(op):
        return [
            v.get_node()
            for v in op.input_values()
            if v.get_node().get_type_name() != 'Constant'
        ]

    pools = ('AvgPool', 'MatMul', 'Interpolate')  # MatMul: 64x48's pools
    kept = [
        op
        for op in ir.get_ops()
        if op.get_type_name() in ('Add', 'Multiply', *pools)
        and (
            op.get_type_name() in pools
            or len(data_inputs(op)) == 2  # not a bias add or a scaling
        )
    ]
    assert {op.get_type_name() for op in kept} == {
        'Add',
        'Multiply',
        'AvgPool',
        'MatMul',
        'Interpolate',
    }
    for op in kept:
        for source in data_inputs(op):
            assert source.get_type_name() != 'FakeQuantize', (
                op.get_friendly_name()
            )
    routes = ('Concat', 'VariadicSplit', 'Split')
    for fq in ir.get_ops():
        if fq.get_type_name() != 'FakeQuantize' or not data_inputs(fq):
            continue
        readers = [t.get_node() for t in fq.output(0).get_target_inputs()]
        while any(r.get_type_name() in routes for r in readers):
            readers = [
                t.get_node()
                for r in readers
                for o in r.outputs()
                for t in o.get_target_inputs()
            ]
        assert {r.get_type_name() for r in readers} <= {
            'Convolution',
            'GroupConvolution',
        }, fq.get_friendly_name()
    signed = [(lo, hi) for lo, hi in activation_ranges(ir) if lo < 0]
    assert signed
    assert not any(np.isclose(-lo, hi * 128 / 127) for lo, hi in signed)


def test_a_peer_gets_nncfs_defaults_on_openvino(tmp_path, monkeypatch):
    """The benchmark's peers (int8_design=False) are quantized with NNCF's
    defaults (symmetric, every op), ours with OPENVINO_INT8 of its task:
    a pose model quantizes only its convs' inputs, a segmentation model
    or one that names no task keeps only its sums fp32."""
    from litehrnet_mm.deploy import quantize
    from litehrnet_mm.deploy.exporters.base import ExportJob
    from litehrnet_mm.deploy.exporters.openvino import export_openvino

    calls = []
    monkeypatch.setattr(
        quantize,
        'quantize_openvino',
        lambda *args, **kwargs: calls.append(kwargs),
    )
    pose, seg = torch.nn.Conv2d(3, 4, 1), torch.nn.Conv2d(3, 4, 1)
    pose.task, seg.task = 'pose', 'seg'
    models = [pose, seg, torch.nn.Conv2d(3, 4, 1), pose]
    for i, design in enumerate((True, True, True, False)):
        job = ExportJob(
            model=models[i].eval(),
            shape=(8, 8),
            batch=1,
            precision='int8',
            output=str(tmp_path / f'{i}.xml'),
            work_dir=str(tmp_path),
            calib=images(1),
            int8_design=design,
        )
        with pytest.raises(RuntimeError, match='without .bin'):
            export_openvino(job)  # the stand-in writes nothing
    ours_pose, ours_seg, ours_other, peer = calls
    assert ours_pose['keep_fp32_types'] == (
        'Add',
        'Multiply',
        'AvgPool',
        'MatMul',
        'Interpolate',
    )
    assert ours_seg['keep_fp32_types'] == ours_other['keep_fp32_types']
    assert ours_seg['keep_fp32_types'] == ('Add',)
    for ours in (ours_pose, ours_seg, ours_other):
        assert ours['preset'] == 'mixed' and ours['keep_fp32'] == []
    assert 'preset' not in peer and 'keep_fp32_types' not in peer
    assert peer['keep_fp32'] == []


def test_an_unknown_preset_is_refused(onnx_file, tmp_path):
    from litehrnet_mm.deploy.quantize import quantize_openvino

    with pytest.raises(ValueError, match='expected one of'):
        quantize_openvino(
            onnx_file, images(1), str(tmp_path / 'q.xml'), preset='fast'
        )


@pytest.mark.slow
def test_openvino_int8_calibration_is_repeatable(ov_int8, tmp_path):
    model, first = ov_int8
    again = export(
        model,
        'openvino',
        'int8',
        SHAPE,
        str(tmp_path / 'again.xml'),
        calib=images(4),
    )
    x = images(1, seed=7)[0]
    a = load_runtime(first.path, threads=1)(x)[0]
    b = load_runtime(again.path, threads=1)(x)[0]
    assert np.array_equal(a, b)


def test_onnxruntime_int8_is_qdq_with_the_design_kept_fp32(tmp_path):
    import onnx

    model = small_model()
    output = str(tmp_path / 'int8.onnx')
    result = export(
        model, 'onnxruntime', 'int8', SHAPE, output, calib=images(2)
    )
    meta = read_metadata(result.path)
    assert meta['precision'] == 'int8' and meta['runtime'] == 'onnxruntime'
    graph = onnx.load(result.path).graph
    produced_by = {o: n for n in graph.node for o in n.output}
    inits = {t.name: t for t in graph.initializer}
    dequantized = 0
    for node in graph.node:
        if node.op_type != 'Conv':
            continue
        source = produced_by.get(node.input[1])
        quantized = source is not None and source.op_type == 'DequantizeLinear'
        dequantized += quantized
        # Kept convs keep their float weights: the depthwise ones, the
        # one on the image, the ones on pooled maps.
        groups = next((a.i for a in node.attribute if a.name == 'group'), 1)
        kept = (
            '/crw/' in node.name
            or '/spatial_weighting/' in node.name
            or groups > 1
            or node.input[0] == graph.input[0].name
        )
        assert quantized != kept, node.name
        if quantized:
            # int8 weights, one scale per output channel.
            weight, scale, zero = (inits[i] for i in source.input)
            assert weight.data_type == onnx.TensorProto.INT8
            assert list(scale.dims) == [weight.dims[0]], node.name
    assert dequantized > 0
    # uint8 activations.
    quantizers = [n for n in graph.node if n.op_type == 'QuantizeLinear']
    assert quantizers and all(
        inits[n.input[2]].data_type == onnx.TensorProto.UINT8
        for n in quantizers
    )
    # Only the convs are quantized: each quantized tensor is a conv's
    # input (which its other readers share) or its output (QLinearConv's);
    # no multiply, resize, pool or constant of their own: a quantized
    # multiply before a depthwise conv kept in fp32 handed it an input of
    # one scale for all channels (on the pose demo that cost 0.375 AP).
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type != 'DequantizeLinear':
            continue
        pair = produced_by.get(node.input[0])
        if pair is None or pair.op_type != 'QuantizeLinear':
            continue  # a weight's (its int8 values stored as such)
        source = produced_by.get(pair.input[0])
        read_by = {r.op_type for r in readers.get(node.output[0], [])}
        assert (source and source.op_type == 'Conv') or 'Conv' in read_by, (
            node.name
        )
    check_outputs(load_runtime(result.path, threads=1), model)


def test_int8_without_calibration_images_is_refused(tmp_path):
    with pytest.raises(ValueError, match='calibration images'):
        export(
            small_model(), 'openvino', 'int8', SHAPE, str(tmp_path / 'q.xml')
        )


def test_two_runners_in_one_process_each_save_into_their_own_folder(
    tmp_path,
):
    """mmengine keeps the visualizer as a global instance by name (the
    hosts' configs name it 'visualizer'): a second runner in the process,
    after the first one's temporary folder is gone, gets one of its own,
    saving into its own folder, and runs its test loop."""
    pytest.importorskip('mmseg')
    import tempfile
    from pathlib import Path

    from mmengine.registry import init_default_scope

    from litehrnet_mm.deploy.quantize import build_runner
    from tests.conftest import generated_seg_config

    cfg = generated_seg_config(tmp_path, 1, 2)
    init_default_scope('mmseg')
    visualizers = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as work_dir:
            runner = build_runner(cfg, None, work_dir)
            (saved,) = Path(work_dir).glob('*/vis_data/config.py')
            assert 'model = ' in saved.read_text()
            assert 'mIoU' in runner.test_loop.run()
            visualizers.append(runner.visualizer)
    assert visualizers[0] is not visualizers[1]
