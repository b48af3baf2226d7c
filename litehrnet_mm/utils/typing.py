"""Type aliases shared by the models, in the OpenMMLab manner."""

from typing import Dict, List, Optional, Union

from mmengine.config import ConfigDict

ConfigType = Union[ConfigDict, Dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]
