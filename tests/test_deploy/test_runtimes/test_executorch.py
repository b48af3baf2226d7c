"""ExecuTorch (deploy/runtimes/executorch.py): a missing .pte is named."""

import pytest

from litehrnet_mm.deploy.runtimes import load_runtime


def test_a_missing_artifact_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='model.pte'):
        load_runtime(str(tmp_path / 'model.pte'), 'executorch')
