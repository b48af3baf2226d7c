"""The model index (mim's convention) ships in the package and lists
mmpose's published Lite-HRNet checkpoints for our configs."""

from pathlib import Path

import pytest
import yaml

from ..conftest import REPO

load_model_index = pytest.importorskip('modelindex.load_model_index').load

MIM_DIR = REPO / 'litehrnet_mm' / '.mim'


def _models():
    index = load_model_index(str(MIM_DIR / 'model-index.yml'))
    index.build_models_with_collections()
    return index.models


def _mmpose_weights() -> dict:
    """Config name -> checkpoint URL from mmpose's own metafiles."""
    mmpose = pytest.importorskip('mmpose')
    root = Path(mmpose.__file__).parent / '.mim/configs/body_2d_keypoint'
    weights = {}
    for name in ('coco/litehrnet_coco.yml', 'mpii/litehrnet_mpii.yml'):
        path = root / 'topdown_heatmap' / name
        for model in yaml.safe_load(path.read_text())['Models']:
            weights[model['Name']] = model['Weights']
    return weights


def test_every_model_has_a_config_and_mmpose_weights():
    from mmengine.config import Config

    models = _models()
    expected = _mmpose_weights()
    assert {m.name for m in models} == set(expected)
    for model in models:
        config = MIM_DIR / model.config
        assert config.is_file(), config
        assert Path(model.config).stem == model.name
        assert Config.fromfile(str(config)).model.backbone.type == (
            'litehrnet_mm.LiteHRNet'
        )
        assert model.weights == expected[model.name]
        assert model.results[0].metrics


def test_model_index_is_package_data():
    text = (REPO / 'pyproject.toml').read_text()
    assert '".mim/model-index.yml"' in text
    assert '".mim/configs/*/*/*.yml"' in text
