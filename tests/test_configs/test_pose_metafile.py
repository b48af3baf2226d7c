"""The model index (mim's convention) ships in the package and lists
mmpose's published Lite-HRNet checkpoints for our configs."""

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

load_model_index = pytest.importorskip('modelindex.load_model_index').load

MIM_DIR = REPO / 'litehrnet_mm' / '.mim'


def _models():
    index = load_model_index(str(MIM_DIR / 'model-index.yml'))
    index.build_models_with_collections()
    return index.models


def _mmpose_weights() -> dict:
    """Our config name -> checkpoint URL, from mmpose's own metafiles of
    every Lite-HRNet config it has."""
    mmpose = pytest.importorskip('mmpose')
    root = Path(mmpose.__file__).parent / '.mim/configs'
    weights = {}
    for name in (
        'body_2d_keypoint/topdown_heatmap/coco/litehrnet_coco.yml',
        'body_2d_keypoint/topdown_heatmap/mpii/litehrnet_mpii.yml',
        'hand_2d_keypoint/topdown_heatmap/coco_wholebody_hand/'
        'litehrnet_coco_wholebody_hand.yml',
    ):
        path = root / name
        for model in yaml.safe_load(path.read_text())['Models']:
            # mmpose names its hand config litehrnet-w18, its body ones
            # litehrnet-18; ours are all litehrnet-18.
            ours = model['Name'].replace('litehrnet-w18', 'litehrnet-18')
            weights[ours] = model['Weights']
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


def test_every_litehrnet_config_of_mmpose_exists_here():
    mmpose = pytest.importorskip('mmpose')
    theirs = {
        p.stem.replace('litehrnet-w18', 'litehrnet-18')
        for p in (Path(mmpose.__file__).parent / '.mim/configs').rglob(
            '*litehrnet*.py'
        )
    }
    ours = {p.stem for p in (REPO / 'configs' / 'pose').glob('*/*.py')}
    assert theirs, 'no Lite-HRNet config found in mmpose'
    assert theirs <= ours, sorted(theirs - ours)
