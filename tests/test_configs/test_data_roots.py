"""Every config's datasets are the checked ones (datasets/pose.py,
datasets/seg.py): a missing data root is named."""

import pytest

from tests.conftest import REPO
from tests.test_datasets.building import build

CONFIGS = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / 'configs').glob('**/*.py')
    if '_base_' not in p.parts
)


@pytest.mark.parametrize('config', CONFIGS)
def test_configs_stop_on_a_missing_data_root_with_its_path(config, tmp_path):
    """Every config's datasets are the checked ones: pointed at a folder
    that does not exist, building the training set names the path."""
    from mmengine.config import Config

    # The configs inherit the host's bases (mmpose::, mmseg::).
    pytest.importorskip('mmseg' if 'fcn_' in config else 'mmpose')
    cfg = Config.fromfile(str(REPO / config))
    dataset = cfg.train_dataloader.dataset
    assert dataset.type.startswith('litehrnet_mm.'), dataset.type
    dataset.data_root = str(tmp_path / 'missing')
    host = cfg.get('default_scope')
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'missing')):
        build(host, **dataset)
