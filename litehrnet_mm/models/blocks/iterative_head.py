"""The iterative head (the ``with_head`` option of the official configs).

From the lowest resolution up, each branch is added to the upsampled result
of the branch below and refined by a depthwise-separable conv, so the
high-resolution output gathers the context of every branch.
"""

from typing import Collection, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import DepthwiseSeparableConvModule
from mmengine.model import BaseModule

from litehrnet_mm.utils.typing import ConfigType, OptMultiConfig

from .resize import resize, size_of


class IterativeHead(BaseModule):
    """Low-to-high refinement of the branch outputs.

    Args:
        in_channels (Sequence[int]): Channels of each branch, highest
            resolution first.
        norm_cfg (dict): Config of the norm layers. Defaults to BN.
        init_cfg (dict or list[dict], optional): Initialization config.

    Each branch but the first ends with the channels of the branch above
    it (it is added to that branch next); see :attr:`out_channels`.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        norm_cfg: ConfigType = dict(type='BN'),
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        low_to_high = list(in_channels)[::-1]
        targets = low_to_high[1:] + low_to_high[-1:]
        self.projects = nn.ModuleList(
            [
                DepthwiseSeparableConvModule(
                    c_in,
                    c_out,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=dict(type='ReLU'),
                    dw_act_cfg=None,
                )
                for c_in, c_out in zip(low_to_high, targets)
            ]
        )
        self.out_channels: Tuple[int, ...] = tuple(targets[::-1])

    def unread_outputs(self, keep: Collection[int]) -> Dict[str, nn.Module]:
        """The projections (by name) of the outputs above the highest
        resolution in ``keep``: output ``b`` reads the head's branches
        ``b`` and below only. A projection set to None gives None outputs
        from there up."""
        n = len(self.projects)
        # projects run from the lowest resolution up: branch b is n-1-b.
        return {
            f'projects.{n - 1 - b}': self.projects[n - 1 - b]
            for b in range(min(keep))
            if self.projects[n - 1 - b] is not None
        }

    def forward(
        self, x: Sequence[Optional[torch.Tensor]]
    ) -> List[Optional[torch.Tensor]]:
        return refine_low_to_high(x, self.projects)


def refine_low_to_high(
    x: Sequence[Optional[torch.Tensor]],
    projects: Sequence[Optional[nn.Module]],
) -> List[Optional[torch.Tensor]]:
    """The head's pass: from the lowest resolution up, add the upsampled
    result below and refine with that branch's projection. Shared by the
    eager head and its deploy form, which differ only in ``projects``.
    It stops at the first projection that is None (removed, with every
    higher resolution: no returned branch reads them); their outputs are
    None."""
    out: List[Optional[torch.Tensor]] = []
    below = None
    for s, project in zip(x[::-1], projects):
        if project is None:
            break
        if below is not None:
            s = s + resize(below, size_of(s), mode='bilinear')
        below = project(s)
        out.append(below)
    out += [None] * (len(x) - len(out))
    return out[::-1]
