"""Where the time goes (analysis/profile.py): the node counts of an ONNX
graph, ONNX Runtime's and OpenVINO's profiles of it read per op type, and
the markdown table, on a two-conv model."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from litehrnet_mm.analysis.profile import (
    onnx_node_counts,
    openvino_per_op,
    ort_per_op,
    profile_onnx,
    profile_ours,
    profile_table,
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


def test_openvino_executed_layers_per_type(onnx_file):
    per_op = openvino_per_op(onnx_file, x(), threads=1, calls=2)
    assert per_op and all(t >= 0 and n >= 1 for t, n in per_op.values())
    assert any('Conv' in op for op in per_op), per_op


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


def test_profile_onnx_gives_the_counts_and_the_tables(onnx_file):
    import openvino as ov

    # OpenVINO reads the ONNX file as it would its IR.
    text = profile_onnx('tiny', onnx_file, onnx_file, x(), threads=1)
    assert text.startswith('tiny: 4 ONNX nodes (2 Conv')
    ort = text.index('\n\nONNX Runtime, by op type')
    f32 = text.index('\n\nOpenVINO f32, its own form, by executed layer')
    assert ort < f32
    caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    # bf16 where the CPU computes in it, else no table that would be f32.
    assert ('\n\nOpenVINO bf16, its own form' in text) == ('BF16' in caps)


@pytest.mark.slow
def test_profile_ours_profiles_lite_hrnet_in_both_forms(tmp_path):
    """benchmark.py --profile: the static ONNX export (ORT) and OpenVINO's
    own form of it, which has no shuffle (Transpose) left."""
    text = profile_ours('18', (64, 48), 1, str(tmp_path))
    assert text.startswith('Lite-HRNet-18 (litehrnet_mm), static export: ')
    assert '| Conv |' in text and '| Convolution |' in text
    assert 'ShuffleChannels' not in text.split('OpenVINO f32')[1]
