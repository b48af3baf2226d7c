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
