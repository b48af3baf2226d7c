"""The stem: from the image to the 1/4-resolution input of stage 1."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from litehrnet_mm.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from .activation_checkpoint import maybe_checkpoint
from .shuffle import channel_shuffle


class Stem(BaseModule):
    """A 3x3 stride-2 conv, then a stride-2 shuffle block (Sec. 3.3).

    The shuffle block splits the channels in half: one half goes through a
    stride-2 depthwise conv and a 1x1 conv, the other through 1x1 expand,
    stride-2 depthwise and 1x1 linear convs; the two are concatenated and
    shuffled.

    Args:
        in_channels (int): Channels of the image.
        stem_channels (int): Channels after the first conv.
        out_channels (int): Channels of the stem's output.
        expand_ratio (float): Expansion of the hidden 1x1 conv.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers. Defaults to BN.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        in_channels: int,
        stem_channels: int,
        out_channels: int,
        expand_ratio: float,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        with_cp: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.with_cp = with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        relu = dict(type='ReLU')

        half = stem_channels // 2
        mid = int(round(stem_channels * expand_ratio))
        # With as many output channels as stem channels, each path returns
        # half of them; otherwise the second path keeps all stem channels
        # and the first makes up the rest.
        if stem_channels == out_channels:
            second_out = half
        else:
            second_out = stem_channels
        first_out = out_channels - second_out

        self.conv1 = ConvModule(
            in_channels,
            stem_channels,
            3,
            stride=2,
            padding=1,
            act_cfg=relu,
            **common,
        )
        self.branch1 = nn.Sequential(
            ConvModule(
                half,
                half,
                3,
                stride=2,
                padding=1,
                groups=half,
                act_cfg=None,
                **common,
            ),
            ConvModule(half, first_out, 1, act_cfg=relu, **common),
        )
        self.expand_conv = ConvModule(half, mid, 1, act_cfg=relu, **common)
        self.depthwise_conv = ConvModule(
            mid,
            mid,
            3,
            stride=2,
            padding=1,
            groups=mid,
            act_cfg=None,
            **common,
        )
        self.linear_conv = ConvModule(
            mid, second_out, 1, act_cfg=relu, **common
        )

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return maybe_checkpoint(self, self._forward, x)
