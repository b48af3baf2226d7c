"""The LiteHRModule: parallel branches of blocks, then a fusion."""

from typing import Collection, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from litehrnet_mm.errors import ArchError
from litehrnet_mm.utils.typing import ConfigType, OptConfigType, OptMultiConfig

from .fusion import build_fuse_layers, fuse
from .shuffle import ShuffleUnit
from .weighting import ConditionalChannelWeighting

MODULE_TYPES = ('LITE', 'NAIVE')


class LiteHRModule(BaseModule):
    """One high-resolution module of a Lite-HRNet stage.

    LITE modules run ``num_blocks`` conditional channel weighting blocks,
    each across all branches at once (the cross-resolution weighting needs
    them all); NAIVE modules run ``num_blocks`` shuffle units per branch.
    With ``with_fuse`` the branches then exchange information
    (:mod:`.fusion`).

    Args:
        num_branches (int): Number of parallel branches.
        num_blocks (int): Blocks per branch.
        in_channels (Sequence[int]): Channels of each branch (kept).
        reduce_ratio (int): Reduction of the cross-resolution weighting.
        module_type (str): ``'LITE'`` or ``'NAIVE'``.
        with_fuse (bool): Fuse the branches at the end. Defaults to True.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers. Defaults to BN.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        num_branches: int,
        num_blocks: int,
        in_channels: Sequence[int],
        reduce_ratio: int,
        module_type: str,
        with_fuse: bool = True,
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        with_cp: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_branches != len(in_channels):
            raise ArchError(
                f'LiteHRModule: num_branches={num_branches} but in_channels '
                f'has {len(in_channels)} entries ({list(in_channels)}); '
                'expected one channel count per branch'
            )
        module_type = module_type.upper()
        if module_type not in MODULE_TYPES:
            raise ArchError(
                f'LiteHRModule: module_type={module_type!r}; '
                f'expected one of {MODULE_TYPES}'
            )
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.module_type = module_type
        self.with_fuse = with_fuse

        if module_type == 'LITE':
            self.layers = nn.Sequential(
                *[
                    ConditionalChannelWeighting(
                        self.in_channels,
                        reduce_ratio,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        with_cp=with_cp,
                    )
                    for _ in range(num_blocks)
                ]
            )
        else:
            self.layers = nn.ModuleList(
                [
                    nn.Sequential(
                        *[
                            ShuffleUnit(
                                c,
                                conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg,
                                with_cp=with_cp,
                            )
                            for _ in range(num_blocks)
                        ]
                    )
                    for c in self.in_channels
                ]
            )
        if with_fuse and num_branches > 1:
            self.fuse_layers = build_fuse_layers(
                self.in_channels, conv_cfg, norm_cfg
            )
            self.relu = nn.ReLU()
        else:
            self.fuse_layers = None

    def unread_outputs(self, keep: Collection[int]) -> Dict[str, nn.Module]:
        """The fusion rows (by name) of the outputs not in ``keep``: the
        layers no kept output reads. Row 0 is always read (every output
        reads the fused branch 0); without fusion there is none (every
        block output is an output). A row set to None gives a None
        output."""
        if self.fuse_layers is None:
            return {}
        return {
            f'fuse_layers.{i}': self.fuse_layers[i]
            for i in range(1, self.num_branches)
            if i not in keep and self.fuse_layers[i] is not None
        }

    def forward(
        self, x: Sequence[torch.Tensor]
    ) -> List[Optional[torch.Tensor]]:
        if self.module_type == 'LITE':
            out = self.layers(list(x))
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        if self.fuse_layers is not None:
            out = [
                None if y is None else self.relu(y)
                for y in fuse(self.fuse_layers, out)
            ]
        return out
