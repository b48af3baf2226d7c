"""The metadata beside an artifact (litehrnet_mm.deploy.artifact)."""

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import (
    metadata_file,
    read_metadata,
    write_metadata,
)


def test_metadata_round_trips_with_numpy_values(tmp_path):
    file = str(tmp_path / 'model.param')
    meta = {
        'task': 'seg',
        'palette': np.array([[1, 2, 3]]),
        'scale': np.float32(0.5),
        'input_shape': (1, 3, 64, 48),
    }
    assert write_metadata(file, meta) == metadata_file(file)
    assert read_metadata(file) == {
        'task': 'seg',
        'palette': [[1, 2, 3]],
        'scale': 0.5,
        'input_shape': [1, 3, 64, 48],
    }


def test_no_metadata_is_empty_and_bad_metadata_is_named(tmp_path):
    file = str(tmp_path / 'model.xml')
    assert read_metadata(file) == {}
    with open(metadata_file(file), 'w') as f:
        f.write('{not json')
    with pytest.raises(ValueError, match='model.xml.json: not readable'):
        read_metadata(file)
    with open(metadata_file(file), 'w') as f:
        f.write('[1, 2]')
    with pytest.raises(ValueError, match='holds a list; expected a JSON'):
        read_metadata(file)


def test_numpy_values_inside_tuples_are_written_as_plain_ones(tmp_path):
    file = str(tmp_path / 'model.xml')
    meta = {'input_shape': (np.int64(1), 3, np.int32(64)), 'x': (0.5,)}
    write_metadata(file, meta)
    assert read_metadata(file) == {'input_shape': [1, 3, 64], 'x': [0.5]}


def test_a_lone_onnx_file_keeps_its_metadata_inside(tmp_path):
    onnx = pytest.importorskip('onnx')
    from onnx import TensorProto, helper

    from litehrnet_mm.deploy.onnx import embed_onnx_metadata

    value = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1])
    out = helper.make_tensor_value_info('y', TensorProto.FLOAT, [1])
    graph = helper.make_graph(
        [helper.make_node('Identity', ['x'], ['y'])], 'g', [value], [out]
    )
    # A capitalised suffix (a file renamed on another system) too.
    for name in ('model.onnx', 'MODEL.ONNX'):
        file = str(tmp_path / name)
        onnx.save(helper.make_model(graph), file)
        assert read_metadata(file) == {}
        embed_onnx_metadata(file, {'task': 'pose', 'shape': (np.int64(4),)})
        embed_onnx_metadata(file, {'task': 'seg'})
        assert read_metadata(file) == {'task': 'seg'}
        # Its sidecar, when there is one, is what counts.
        write_metadata(file, {'task': 'pose'})
        assert read_metadata(file) == {'task': 'pose'}
