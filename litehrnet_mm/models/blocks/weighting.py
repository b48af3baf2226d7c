"""Conditional channel weighting, the LITE block of Lite-HRNet (Sec. 3.2).

The costly 1x1 convolutions of a shuffle block are replaced by element-wise
weighting of the channels, with weights computed from all branches:

* :class:`CrossResolutionWeighting` (H in the paper) pools every branch to
  the smallest resolution, mixes them with two 1x1 convs and returns one set
  of weights per branch and position;
* :class:`SpatialWeighting` (F in the paper) is a squeeze-and-excitation
  style weighting of each branch from its own global average;
* :class:`ConditionalChannelWeighting` chains them around a 3x3 depthwise
  conv on half of the channels, then concatenates and shuffles.
"""

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from litehrnet_mm.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from .activation_checkpoint import maybe_checkpoint
from .shuffle import channel_shuffle


class _Weighting(BaseModule):
    """1x1 conv - ReLU - 1x1 conv - sigmoid, shared by both weightings."""

    def __init__(
        self,
        channels: int,
        ratio: int,
        conv_cfg: OptConfigType,
        norm_cfg: OptConfigType,
        init_cfg: OptMultiConfig,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        mid = int(channels / ratio)
        self.conv1 = ConvModule(
            channels,
            mid,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='ReLU'),
        )
        self.conv2 = ConvModule(
            mid,
            channels,
            1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=dict(type='Sigmoid'),
        )

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class SpatialWeighting(_Weighting):
    """Weights each channel of one branch by a function of its global mean.

    Args:
        channels (int): Channels of the branch.
        ratio (int): Channel reduction of the hidden 1x1 conv.
            Defaults to 4 (the paper).
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Norm of the 1x1 convs. Defaults to None,
            as in the official code (the convs then carry a bias).
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        channels: int,
        ratio: int = 4,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(channels, ratio, conv_cfg, norm_cfg, init_cfg)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(self.global_avgpool(x))


class CrossResolutionWeighting(_Weighting):
    """Weights every branch from the pooled content of all branches.

    Each branch is average-pooled to the size of the last (smallest) branch,
    the maps are concatenated, passed through the two 1x1 convs, split back
    per branch and upsampled (nearest) to weight the branch they belong to.

    Args:
        channels (Sequence[int]): Channels of each branch.
        ratio (int): Channel reduction of the hidden 1x1 conv.
            Defaults to 8 (the paper).
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict, optional): Norm of the 1x1 convs. Defaults to BN.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        channels: Sequence[int],
        ratio: int = 8,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = dict(type='BN'),
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(sum(channels), ratio, conv_cfg, norm_cfg, init_cfg)
        self.channels = list(channels)

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        smallest = x[-1].shape[-2:]
        pooled = [F.adaptive_avg_pool2d(s, smallest) for s in x[:-1]]
        weights = self.weights(torch.cat(pooled + [x[-1]], dim=1))
        weights = torch.split(weights, self.channels, dim=1)
        return [
            s * F.interpolate(w, size=s.shape[-2:], mode='nearest')
            for s, w in zip(x, weights)
        ]


class ConditionalChannelWeighting(BaseModule):
    """The LITE block: channel weighting in place of 1x1 convolutions.

    Args:
        in_channels (Sequence[int]): Channels of each branch; each is split
            in half, so each must be even.
        reduce_ratio (int): Reduction of the cross-resolution weighting.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers. Defaults to BN.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        reduce_ratio: int,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        with_cp: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        halves = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(
            halves, ratio=reduce_ratio, conv_cfg=conv_cfg, norm_cfg=norm_cfg
        )
        self.depthwise_convs = nn.ModuleList(
            [
                ConvModule(
                    c,
                    c,
                    3,
                    padding=1,
                    groups=c,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=None,
                )
                for c in halves
            ]
        )
        # The official code builds these without conv_cfg and norm_cfg.
        self.spatial_weighting = nn.ModuleList(
            [SpatialWeighting(c, ratio=4) for c in halves]
        )

    def _forward(self, *x: torch.Tensor) -> List[torch.Tensor]:
        halves = [s.chunk(2, dim=1) for s in x]
        kept = [h[0] for h in halves]
        weighted = self.cross_resolution_weighting([h[1] for h in halves])
        weighted = [
            sw(dw(s))
            for s, dw, sw in zip(
                weighted, self.depthwise_convs, self.spatial_weighting
            )
        ]
        return [
            channel_shuffle(torch.cat((a, b), dim=1), 2)
            for a, b in zip(kept, weighted)
        ]

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        return maybe_checkpoint(self, self._forward, *x)
