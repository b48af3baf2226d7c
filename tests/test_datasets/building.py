"""What the tests of the checked datasets share: building a dataset in its
host's scope, and the real samples beside the checkout."""

import pytest

from tests.conftest import SHARED_DATA

# ../shared/data: real samples beside the checkout (CI lays them there).
needs_samples = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f'{SHARED_DATA} (real samples) absent'
)


def build(host, **cfg):
    """Build a dataset in the host's scope; each test needs only its host."""
    pytest.importorskip(host)
    from mmengine.registry import DATASETS, init_default_scope

    init_default_scope(host)
    cfg.setdefault('test_mode', False)
    cfg['pipeline'] = []  # the files are checked before any transform
    return DATASETS.build(cfg)
