"""The type aliases of the models (utils/typing.py): what they accept, and
that the models' annotations resolve to them."""

import typing

from mmengine.config import ConfigDict

from litehrnet_mm.models.backbones.litehrnet import LiteHRNet
from litehrnet_mm.models.blocks.stem import Stem
from litehrnet_mm.utils.typing import (
    ConfigType,
    MultiConfig,
    OptConfigType,
    OptMultiConfig,
)


def test_the_aliases_are_dicts_lists_of_them_and_none():
    assert set(typing.get_args(ConfigType)) == {ConfigDict, typing.Dict}
    assert set(typing.get_args(OptConfigType)) == {
        ConfigDict,
        typing.Dict,
        type(None),
    }
    assert typing.List[ConfigType] in typing.get_args(MultiConfig)
    assert type(None) in typing.get_args(OptMultiConfig)
    assert typing.List[ConfigType] in typing.get_args(OptMultiConfig)


def test_the_models_annotations_resolve_to_them():
    hints = typing.get_type_hints(LiteHRNet.__init__)
    assert hints['norm_cfg'] == ConfigType
    assert hints['conv_cfg'] == OptConfigType
    assert hints['init_cfg'] == OptMultiConfig
    assert typing.get_type_hints(Stem.__init__)['init_cfg'] == OptMultiConfig
