"""The backbone's initialization, and mmseg's ``pretrained`` convention.

29 of mmseg's model bases set ``model.pretrained``, and mmseg's
``EncoderDecoder`` hands it to the backbone as ``pretrained=``. mmseg's own
backbones take it with a deprecation warning and turn it into
``init_cfg=dict(type='Pretrained', checkpoint=...)``; so does LiteHRNet.
"""

import warnings
from typing import Optional

from litehrnet_mm.errors import ArchError, ArchTypeError
from litehrnet_mm.utils.typing import OptMultiConfig

#: As in the official code: convs drawn from N(0, 0.001), norms set to 1.
DEFAULT_INIT_CFG = [
    dict(type='Normal', std=0.001, layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def resolve_init_cfg(
    init_cfg: OptMultiConfig, pretrained: Optional[str]
) -> OptMultiConfig:
    """The ``init_cfg`` to use, given mmseg's ``pretrained``.

    Args:
        init_cfg: The backbone's ``init_cfg``.
        pretrained: A checkpoint path or URL, or None.

    Returns:
        ``init_cfg`` when ``pretrained`` is None, else a ``Pretrained``
        init of ``pretrained``.

    Raises:
        ArchTypeError: ``pretrained`` is neither a str nor None.
        ArchError: both ``pretrained`` and a non-default ``init_cfg``.
    """
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise ArchTypeError(
            f'LiteHRNet: pretrained={pretrained!r}; expected a checkpoint '
            'path or URL (str) or None'
        )
    if init_cfg is not None and init_cfg != DEFAULT_INIT_CFG:
        raise ArchError(
            f'LiteHRNet: both pretrained={pretrained!r} and '
            f'init_cfg={init_cfg!r}; expected one of them, e.g. '
            f"init_cfg=dict(type='Pretrained', checkpoint={pretrained!r})"
        )
    warnings.warn(
        'LiteHRNet: pretrained is deprecated (an mmseg convention); use '
        f"init_cfg=dict(type='Pretrained', checkpoint={pretrained!r})",
        FutureWarning,
        stacklevel=3,
    )
    return dict(type='Pretrained', checkpoint=pretrained)
