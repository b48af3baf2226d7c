"""Channel shuffle and the NAIVE block (the ShuffleNet V2 shuffle unit).

Naive Lite-HRNet (Sec. 3.1 of the paper) is HRNet with every residual block
replaced by this unit: split the channels in half, pass one half through
1x1 conv - 3x3 depthwise conv - 1x1 conv, concatenate, shuffle.
"""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from litehrnet_mm.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from .activation_checkpoint import maybe_checkpoint


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet).

    Args:
        x (Tensor): Input of shape (N, C, H, W), C divisible by ``groups``.
        groups (int): Number of channel groups.

    Returns:
        Tensor: Same shape; channel ``g * (C // groups) + k`` moves to
        ``k * groups + g``.
    """
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2)
    return x.reshape(n, c, h, w)


class ShuffleUnit(BaseModule):
    """The stride-1 ShuffleNet V2 unit used by the NAIVE modules.

    Args:
        channels (int): Input and output channels; must be even.
        conv_cfg (dict, optional): Config of the conv layers.
            Defaults to None (``nn.Conv2d``).
        norm_cfg (dict): Config of the norm layers. Defaults to BN.
        act_cfg (dict): Config of the activations. Defaults to ReLU.
        with_cp (bool): Trade compute for memory with activation
            checkpointing. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        channels: int,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        act_cfg: ConfigType = dict(type='ReLU'),
        with_cp: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        half = channels // 2
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.branch2 = nn.Sequential(
            ConvModule(half, half, 1, act_cfg=act_cfg, **common),
            ConvModule(
                half, half, 3, padding=1, groups=half, act_cfg=None, **common
            ),
            ConvModule(half, half, 1, act_cfg=act_cfg, **common),
        )

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), dim=1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return maybe_checkpoint(self, self._forward, x)
