"""GroupNorm for any channel count of Lite-HRNet.

``norm_cfg=dict(type='GN', num_groups=G)`` needs G to divide the channels
of every norm layer, and Lite-HRNet has widths that few G divide: the
cross-resolution weighting's hidden width is ``sum(channels) / 2 / ratio``
(7, 17 and 37 for Lite-HRNet-18), the Naive variant's half branches have 15
channels. :func:`fit_group_norm` swaps GN for :class:`FittedGroupNorm`,
which uses G where it divides the channels and otherwise the largest group
count below G that does; the parameters (``weight``, ``bias``) and their
names are GroupNorm's.
"""

from typing import List, Tuple

import torch.nn as nn
from mmengine.logging import print_log

from litehrnet_mm.errors import ArchError
from litehrnet_mm.utils.typing import ConfigType


class FittedGroupNorm(nn.GroupNorm):
    """GroupNorm with the largest number of groups, at most
    ``num_groups``, that divides ``num_channels``.

    Args:
        num_channels (int): Channels of the input.
        num_groups (int): The groups wanted (a positive int).
        eps (float): Added to the variance. Defaults to 1e-5.
        affine (bool): Learn a per-channel weight and bias. Defaults to
            True.
    """

    def __init__(
        self,
        num_channels: int,
        num_groups: int,
        eps: float = 1e-5,
        affine: bool = True,
    ) -> None:
        if (
            isinstance(num_groups, bool)
            or not isinstance(num_groups, int)
            or num_groups < 1
        ):
            raise ArchError(
                f'LiteHRNet: norm_cfg num_groups={num_groups!r}; expected '
                "a positive int, e.g. dict(type='GN', num_groups=4)"
            )
        groups = next(
            g
            for g in range(min(num_groups, num_channels), 0, -1)
            if num_channels % g == 0
        )
        super().__init__(groups, num_channels, eps=eps, affine=affine)
        #: The groups the config asked for.
        self.requested_groups = num_groups


def fit_group_norm(norm_cfg: ConfigType) -> ConfigType:
    """``norm_cfg`` with GroupNorm replaced by :class:`FittedGroupNorm`;
    any other norm is returned as it is."""
    if norm_cfg is None or norm_cfg.get('type') not in ('GN', nn.GroupNorm):
        return norm_cfg
    if 'num_groups' not in norm_cfg:
        raise ArchError(
            f'LiteHRNet: norm_cfg={dict(norm_cfg)!r} has no num_groups; '
            "expected e.g. dict(type='GN', num_groups=4)"
        )
    return dict(norm_cfg, type=FittedGroupNorm)


def fitted_layers(model: nn.Module) -> List[Tuple[str, int, int]]:
    """``(name, channels, groups)`` of every FittedGroupNorm in ``model``
    that uses fewer groups than asked for."""
    return [
        (name, m.num_channels, m.num_groups)
        for name, m in model.named_modules()
        if isinstance(m, FittedGroupNorm)
        and m.num_groups != m.requested_groups
    ]


def report_fitted_layers(model: nn.Module) -> None:
    """Log the GroupNorm layers that use fewer groups than asked for."""
    fitted = fitted_layers(model)
    if fitted:
        print_log(
            f'LiteHRNet: {len(fitted)} GroupNorm layers use fewer groups '
            'than num_groups, which does not divide their channels, e.g. '
            + ', '.join(
                f'{n} ({c} channels, {g} groups)' for n, c, g in fitted[:3]
            ),
            logger='current',
        )
