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


def test_the_readme_s_own_data_config_moves_every_path(tmp_path):
    """The README's config for data elsewhere: every loader's and
    evaluator's path moves (the variable ``data_root`` alone moves none:
    mmengine resolves it in the base)."""
    from mmengine.config import Config

    pytest.importorskip('mmpose')
    readme = (REPO / 'README.md').read_text()
    start = readme.index("```python\n_base_ = ['td-hm_litehrnet-18_8xb64")
    block = readme[start + len('```python\n') : readme.index('```', start + 3)]
    base = (
        REPO
        / 'configs/pose/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
    )
    mine = tmp_path / 'mine.py'
    mine.write_text(
        block.replace(
            "'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'", repr(str(base))
        )
    )
    cfg = Config.fromfile(str(mine))
    root = '/data/coco/'
    for loader in ('train', 'val', 'test'):
        dataset = cfg[f'{loader}_dataloader'].dataset
        assert dataset.data_root == root, loader
        if loader != 'train':
            assert dataset.bbox_file.startswith(root), loader
    for evaluator in ('val', 'test'):
        assert cfg[f'{evaluator}_evaluator'].ann_file.startswith(root)
