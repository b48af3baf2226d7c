"""int8 with accuracy control (litehrnet_mm.deploy.accuracy_control): the
host's metric on the training split, as NNCF measures it, and the export
that asks for a drop.

Whether the control keeps a trained model inside a bound is measured on
the demo models (the README's accuracy section); here the measurement
itself is checked: the same metric as the host's own test loop, on the
training split, with the outputs NNCF ranks the quantizers by.
"""

import copy
import os
import tempfile

import numpy as np
import pytest
import torch

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.export import check_accuracy_control, export
from tests.conftest import generated_seg_config, load_tool

pytest.importorskip('openvino')


def test_a_drop_is_asked_only_of_openvino_int8():
    check_accuracy_control('openvino', 'int8', None)
    check_accuracy_control('openvino', 'int8', 0.005)
    with pytest.raises(ValueError, match='for OpenVINO int8'):
        check_accuracy_control('onnxruntime', 'int8', 0.01)
    with pytest.raises(ValueError, match='for OpenVINO int8'):
        check_accuracy_control('openvino', 'fp32', 0.01)
    for bad in (-0.1, True, '0.01'):
        with pytest.raises(ValueError, match='expected a number >= 0'):
            check_accuracy_control('openvino', 'int8', bad)


def test_export_refuses_a_drop_without_its_metric(tmp_path):
    with pytest.raises(ValueError, match='max_drop needs validation'):
        export(torch.nn.Identity(), 'openvino', 'int8', (8, 8),
               str(tmp_path / 'm.xml'), calib=[np.zeros((1, 3, 8, 8))],
               max_drop=0.01)  # fmt: skip


def test_tool_refuses_a_drop_before_building_anything(capsys):
    tool = load_tool('tools/deploy/export.py')
    for extra, message in (
        (['--runtime', 'onnxruntime', '--precision', 'int8', '--max-drop',
          '0.01'], 'for OpenVINO int8'),
        (['--runtime', 'openvino', '--precision', 'int8', '--max-drop',
          '-1'], 'expected a number >= 0'),
        (['--runtime', 'openvino', '--precision', 'int8',
          '--validation-items', '5'], 'goes with --max-drop'),
    ):  # fmt: skip
        with pytest.raises(SystemExit) as e:
            tool.main(
                ['no-such-config.py', 'none', '--output', 'x.xml'] + extra
            )
        assert e.value.code == 2
        assert message in capsys.readouterr().err


def _pytorch_metric_on_training_split(cfg, checkpoint):
    """The host's test loop over the training split, in PyTorch."""
    from litehrnet_mm.deploy.quantize import (
        build_runner,
        training_split_loader,
    )

    cfg = copy.deepcopy(cfg)
    cfg.test_dataloader = training_split_loader(cfg)
    with tempfile.TemporaryDirectory() as work_dir:
        return build_runner(cfg, checkpoint, work_dir).test_loop.run()


@pytest.mark.slow
def test_host_metric_is_the_host_test_loops_on_the_training_split(tmp_path):
    """The seg demo's config on generated images: HostMetric of the fp32
    artifact gives the mIoU of the host's own test loop on the training
    split in PyTorch, and each item's outputs are the model's outputs for
    that item; an export that asks for a drop it already meets records
    the fp32 and int8 measurements in its metadata."""
    pytest.importorskip('mmseg')
    import openvino as ov
    from mmengine.registry import init_default_scope

    from litehrnet_mm.analysis.models import build_from_config
    from litehrnet_mm.deploy.accuracy_control import HostMetric
    from litehrnet_mm.deploy.quantize import build_runner, calibration_inputs

    cfg = generated_seg_config(tmp_path / 'data', 4, 2, seed=3)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = build_from_config(cfg)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.model.state_dict()}, checkpoint)
    expected = _pytorch_metric_on_training_split(cfg, checkpoint)['mIoU']

    fp32 = export(model, 'openvino', 'fp32', (64, 64), str(tmp_path / 'f.xml'))
    with tempfile.TemporaryDirectory() as work_dir:
        runner = build_runner(cfg, checkpoint, work_dir)
        metric = HostMetric(runner, cfg, log=lambda line: None)
        assert len(metric.items) == 4 and metric.key == 'mIoU'
        # In f32, as NNCF's accuracy control compiles it: OpenVINO's default
        # on a CPU with bf16 (AMX, AVX512_BF16) is bf16.
        compiled = ov.Core().compile_model(
            fp32.path, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'}
        )
        value, outputs = metric(compiled, metric.items)
        assert value == pytest.approx(expected, abs=0.05)
        assert len(outputs) == 4
        with torch.no_grad():
            want = model(torch.from_numpy(metric.inputs(metric.items[2])))
        np.testing.assert_allclose(outputs[2][0], want.numpy(), atol=1e-3)

        metric = HostMetric(runner, cfg, count=3, log=lambda line: None)
        assert len(metric.items) == 3
        calib = calibration_inputs(runner, cfg, 4)
        int8 = export(
            build_from_config(cfg, checkpoint),
            'openvino',
            'int8',
            (64, 64),
            str(tmp_path / 'q.xml'),
            calib=calib,
            max_drop=100.0,
            validation=metric,
        )
    control = read_metadata(int8.path)['accuracy_control']
    assert control['metric'] == 'mIoU' and control['max_drop'] == 100.0
    assert control['items'] == 3 and control['measurements'] == 2
    assert control['fp32'] == metric.history[0]
    assert control['int8'] == metric.history[1]
    ov.Core().compile_model(int8.path, 'CPU')


def _doubling_model():
    """A compiled OpenVINO model of ``2 * x`` on (1, 3, 4, 4)."""
    import openvino as ov
    import openvino.opset8 as ops

    x = ops.parameter([1, 3, 4, 4], np.float32, name='x')
    y = ops.multiply(x, ops.constant(np.float32(2)))
    model = ov.Model([y], [x], 'double')
    return ov.Core().compile_model(
        model, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'}
    )


def test_only_the_first_call_after_record_is_kept():
    """Flip test runs a second, flipped inference per item: NNCF ranks by
    the first's outputs only."""
    from litehrnet_mm.deploy.accuracy_control import CompiledRuntime

    runtime = CompiledRuntime(_doubling_model())
    images = [np.full((1, 3, 4, 4), k, np.float32) for k in range(4)]
    runtime(images[0])
    runtime.record()
    (out,) = runtime(images[1])
    np.testing.assert_array_equal(out, 2 * images[1])
    runtime(images[2])
    runtime.record()
    runtime(images[3])
    assert len(runtime.recorded) == 2
    np.testing.assert_array_equal(runtime.recorded[0][0], 2 * images[1])
    np.testing.assert_array_equal(runtime.recorded[1][0], 2 * images[3])


def test_the_summary_records_the_first_and_the_last_measurement():
    from litehrnet_mm.deploy.accuracy_control import HostMetric

    metric = HostMetric.__new__(HostMetric)  # (no runner: summary alone)
    metric.key, metric.items = 'coco/AP', [{}] * 7
    metric.history = []
    assert metric.summary(0.01)['fp32'] is None
    metric.history = [0.70, 0.66, 0.68, 0.69]
    assert metric.summary(0.01) == dict(
        metric='coco/AP',
        max_drop=0.01,
        items=7,
        fp32=0.70,
        int8=0.69,
        measurements=4,
    )


def test_a_metric_reading_ground_truth_reads_the_training_splits():
    from mmengine.config import Config

    from litehrnet_mm.deploy.accuracy_control import HostMetric

    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(data_root='data/coco', ann_file='ann/train.json')
            ),
            test_evaluator=dict(type='CocoMetric', ann_file='data/val.json'),
        )
    )
    evaluator = HostMetric._evaluator_cfg(cfg)
    assert evaluator['ann_file'] == os.path.join('data/coco', 'ann/train.json')
    assert cfg.test_evaluator.ann_file == 'data/val.json'  # a copy changed
    cfg.test_evaluator = [dict(type='IoUMetric'), dict(type='X', ann_file='v')]
    evaluator = HostMetric._evaluator_cfg(cfg)
    assert evaluator[0] == dict(type='IoUMetric')
    assert evaluator[1]['ann_file'] == os.path.join(
        'data/coco', 'ann/train.json'
    )
