"""Where the time goes (analysis/profile.py): the node counts of an ONNX
graph, ONNX Runtime's profile of it per op type, OpenVINO's executed
layers with the precision each ran in and where its Reorders sit, and the
markdown tables, on a two-conv model (f32 and int8)."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from litehrnet_mm.analysis.profile import (
    Layer,
    layer_table,
    low_precision,
    onnx_node_counts,
    openvino_layers,
    ort_per_op,
    profile_model,
    profile_onnx,
    profile_ours,
    profile_table,
    reorders,
    summary_table,
)
from litehrnet_mm.deploy.onnx import write_onnx

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')


@pytest.fixture
def onnx_file(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 4, 1),
        nn.Sigmoid(),
    )
    return write_onnx(model.eval(), (16, 12), str(tmp_path / 'm.onnx'))


def x():
    return np.random.default_rng(0).random((1, 3, 16, 12), np.float32)


def test_node_counts_name_the_most_frequent_types(onnx_file):
    text = onnx_node_counts(onnx_file)
    assert text.startswith('4 ONNX nodes (2 Conv, ')
    assert '1 Relu' in text and '1 Sigmoid' in text
    assert onnx_node_counts(onnx_file, top=1) == '4 ONNX nodes (2 Conv)'


def test_onnxruntime_kernel_times_per_op_type(onnx_file):
    per_op = ort_per_op(onnx_file, x(), threads=1, calls=3)
    # After its graph optimisations (Conv and Relu may fuse): every node
    # counted once per call, the two convs among them.
    assert per_op and all(t >= 0 for t, _ in per_op.values())
    conv_types = [op for op in per_op if 'Conv' in op]
    assert conv_types and sum(per_op[op][1] for op in conv_types) == 2


def test_openvino_executed_layers_with_their_precision(onnx_file):
    layers = openvino_layers(onnx_file, x(), 1, rounds=3, warmup=1)
    assert layers and all(layer.ms >= 0 for layer in layers)
    convs = [layer for layer in layers if layer.type == 'Convolution']
    assert len(convs) == 2
    assert {layer.precision for layer in layers} == {'f32'}
    # The first conv reads the input, the second reads the first.
    assert convs[1].source == 'Convolution f32'
    # Whatever Reorders OpenVINO adds sit between executed layers or the
    # graph's input and output.
    for r in [layer for layer in layers if layer.type == 'Reorder']:
        assert r.source and r.target


@pytest.fixture
def int8_file(onnx_file, tmp_path):
    from litehrnet_mm.deploy.quantize import quantize_openvino

    calib = [
        np.random.default_rng(i).random((1, 3, 16, 12), np.float32)
        for i in range(4)
    ]
    return quantize_openvino(
        onnx_file, calib, str(tmp_path / 'q.xml'), keep_fp32=[]
    )


def test_int8_convs_run_in_u8_and_count_as_low_precision(onnx_file, int8_file):
    f32 = openvino_layers(onnx_file, x(), 1, rounds=2, warmup=1)
    int8 = openvino_layers(int8_file, x(), 1, rounds=2, warmup=1)
    convs = [layer for layer in int8 if layer.type == 'Convolution']
    assert len(convs) == 2
    assert {c.precision for c in convs} <= {'u8', 'i8'}
    assert low_precision(f32) == (0, 0.0)
    count, share = low_precision(int8)
    assert count >= 2 and 0 < share <= 1


def _layer(type, ms, precision='f32', source='', target=''):
    return Layer(type.lower(), type, precision, ms, source, target)


def test_layer_table_names_the_precisions_of_each_type():
    layers = [
        _layer('Convolution', 2.0, 'u8'),
        _layer('Convolution', 1.0, 'u8'),
        _layer('Convolution', 1.0, 'f32'),
        _layer('Subgraph', 1.0, 'f32'),
    ]
    lines = layer_table('T', layers).splitlines()
    assert lines[0] == 'T: 5.00 ms per call in the profiled ops, 4 nodes'
    assert lines[2] == (
        '| op | ms per call | share | nodes | runtime precision |'
    )
    assert lines[4] == '| Convolution | 4.00 | 80% | 3 | 2 u8, 1 f32 |'
    assert lines[5] == '| Subgraph | 1.00 | 20% | 1 | 1 f32 |'


def test_reorders_say_what_they_sit_between():
    layers = [
        _layer('Reorder', 0.5, 'u8', 'Subgraph u8', 'Convolution u8'),
        _layer('Reorder', 0.25, 'f32', 'Input f32', 'Convolution f32'),
        _layer('Reorder', 0.25, 'u8', 'Subgraph u8', 'Convolution u8'),
        _layer('Convolution', 3.0, 'u8'),
    ]
    assert reorders(layers) == (
        '3 Reorders, 1.00 ms: Subgraph u8 -> Convolution u8 (2), '
        'Input f32 -> Convolution f32 (1)'
    )
    assert reorders(layers[3:]) == '0 Reorders, 0.00 ms'
    # Reorders convert; they are not counted as computing in u8.
    assert low_precision(layers) == (1, 0.75)


def test_summary_compares_each_path_with_the_first():
    f32 = [_layer('Convolution', 4.0), _layer('Reorder', 1.0)]
    int8 = [_layer('Convolution', 2.0, 'u8'), _layer('Subgraph', 0.5)]
    lines = summary_table({'f32': f32, 'int8': int8}).splitlines()
    assert lines[2] == '| f32 | 2 | 5.00 | 1.00 | 0 (0%) | 1 (1.00) |'
    assert lines[3] == '| int8 | 2 | 2.50 | 2.00 | 1 (80%) | 0 (0.00) |'


def test_the_table_ranks_by_time_with_shares():
    table = profile_table('T', {'a': (1.0, 2), 'b': (3.0, 1), 'c': (0.5, 4)})
    lines = table.splitlines()
    assert lines[0] == 'T: 4.50 ms per call in the profiled ops, 7 nodes'
    assert lines[2] == '| op | ms per call | share | nodes |'
    assert lines[4:] == [
        '| b | 3.00 | 67% | 1 |',
        '| a | 1.00 | 22% | 2 |',
        '| c | 0.50 | 11% | 4 |',
    ]
    assert (
        len(
            profile_table(
                'T', {'a': (1.0, 1), 'b': (2, 1)}, rows=1
            ).splitlines()
        )
        == 5
    )


def test_profile_onnx_gives_the_counts_and_the_tables(onnx_file, int8_file):
    # OpenVINO reads the ONNX file as it would its IR.
    text = profile_onnx(
        'tiny',
        onnx_file,
        x(),
        1,
        {'f32': (onnx_file, 'f32'), 'int8': (int8_file, 'f32')},
    )
    assert text.startswith('tiny: 4 ONNX nodes (2 Conv')
    ort = text.index('\n\nONNX Runtime, by op type')
    summary = text.index('\n\nOpenVINO, its own form, by path')
    f32 = text.index('\n\nOpenVINO f32, by executed layer type')
    int8 = text.index('\n\nOpenVINO int8, by executed layer type')
    assert ort < summary < f32 < int8
    assert '\n| f32 | ' in text and '\n| int8 | ' in text
    assert text.count(' Reorders, ') == 2


@pytest.mark.slow
def test_profile_ours_profiles_lite_hrnet_in_both_forms(tmp_path):
    """benchmark.py --profile: the static ONNX export (ORT) and OpenVINO's
    own form of it, which has no shuffle (Transpose) left."""
    text = profile_ours('18', (64, 48), 1, str(tmp_path))
    assert text.startswith('Lite-HRNet-18 (litehrnet_mm), static export: ')
    assert '| Conv |' in text and '| Convolution |' in text
    assert 'ShuffleChannels' not in text.split('OpenVINO f32')[1]
    assert '\n| f32 | ' in text and 'int8' not in text


@pytest.mark.slow
def test_profile_model_profiles_each_precision(tmp_path):
    """benchmark.py --profile --precisions fp32 bf16 int8, on a small
    Lite-HRNet with the pose head: f32, bf16 where the CPU has it, and
    int8 before (NNCF's defaults) and after (pose's options)."""
    import openvino as ov

    from tests.test_deploy.test_quantize import small_model

    text = profile_model(
        small_model(),
        'small',
        (64, 48),
        1,
        str(tmp_path),
        ('fp32', 'bf16', 'int8'),
        calib_images=2,
    )
    assert text.startswith('small: ')
    for path in ('f32', 'int8, NNCF defaults', 'int8, ours (pose)'):
        assert f'\n| {path} | ' in text
        assert f'\n\nOpenVINO {path}, by executed layer type' in text
    caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    assert ('\n| bf16 | ' in text) == ('BF16' in caps)
    assert ('this CPU has no BF16' in text) == ('BF16' not in caps)
    # What the f32 path's executed layers cost by their number alone.
    assert "\n\nOpenVINO's fixed cost of one executed layer" in text
    assert '\n| f32 | 1 | ' in text
    # Pose's options keep the weightings' multiplies in f32, which NNCF's
    # defaults quantize: more of the graph runs in f32 after.
    rows = {
        line.split(' | ')[0][2:]: line.split(' | ')
        for line in text.splitlines()
        if line.startswith('| int8, ')
    }
    below_f32 = {k: int(v[4].split(' ')[0]) for k, v in rows.items()}
    assert below_f32['int8, ours (pose)'] < below_f32['int8, NNCF defaults']
