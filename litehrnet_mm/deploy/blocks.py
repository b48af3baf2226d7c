"""The deploy form of each block: BN folded, no channel-shuffle copy, no
upsampled copies, the fusion's repeated term computed once and doubled.

Each class is built from the trained eager block and computes the same
function in eval mode (max abs difference well below 1e-4).
"""

from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from litehrnet_mm.models.blocks.fusion import FuseDown, FuseUp
from litehrnet_mm.models.blocks.iterative_head import (
    IterativeHead,
    refine_low_to_high,
)
from litehrnet_mm.models.blocks.lite_hr_module import LiteHRModule
from litehrnet_mm.models.blocks.shuffle import ShuffleUnit
from litehrnet_mm.models.blocks.stem import Stem
from litehrnet_mm.models.blocks.weighting import (
    ConditionalChannelWeighting,
    SpatialWeighting,
)

from .fold import fold_conv_bn, fold_conv_module, fold_sequential
from .layout import (
    add_upsampled,
    exact_ratio,
    functional_mode,
    mul_upsampled,
    pool_to,
    shuffle_cat,
    shuffled_halves,
    write_in_place,
)


def _conv_act(module) -> nn.Sequential:
    conv, act = fold_conv_module(module)
    if act == 'relu':
        return nn.Sequential(conv, nn.ReLU(inplace=True))
    if act == 'sigmoid':
        return nn.Sequential(conv, nn.Sigmoid())
    return nn.Sequential(conv)


class DeployStem(nn.Module):
    """The stem with BN folded; optionally turns the input channels-last."""

    def __init__(self, stem: Stem, channels_last: bool) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.conv1 = _conv_act(stem.conv1)
        self.branch1 = nn.Sequential(*[_conv_act(m) for m in stem.branch1])
        self.branch2 = nn.Sequential(
            _conv_act(stem.expand_conv),
            _conv_act(stem.depthwise_conv),
            _conv_act(stem.linear_conv),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x1, x2 = self.conv1(x).chunk(2, dim=1)
        return shuffle_cat(self.branch1(x1), self.branch2(x2))


class DeploySpatialWeighting(nn.Module):
    """``x * sigmoid(W2 relu(W1 mean(x) + b1) + b2)`` with linear layers in
    place of 1x1 convs on a 1x1 map."""

    def __init__(self, sw: SpatialWeighting) -> None:
        super().__init__()
        conv1, _ = fold_conv_module(sw.conv1)
        conv2, _ = fold_conv_module(sw.conv2)
        like = dict(device=conv1.weight.device, dtype=conv1.weight.dtype)
        self.fc1 = nn.Linear(conv1.in_channels, conv1.out_channels, **like)
        self.fc2 = nn.Linear(conv2.in_channels, conv2.out_channels, **like)
        with torch.no_grad():
            for fc, conv in ((self.fc1, conv1), (self.fc2, conv2)):
                fc.weight.copy_(conv.weight.flatten(1))
                fc.bias.copy_(conv.bias)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3))
        w = torch.sigmoid(self.fc2(F.relu(self.fc1(mean))))
        return w.unsqueeze(-1).unsqueeze(-1)


class DeployCCW(nn.Module):
    """Conditional channel weighting (the LITE block)."""

    def __init__(self, block: ConditionalChannelWeighting) -> None:
        super().__init__()
        crw = block.cross_resolution_weighting
        self.channels = list(crw.channels)
        self.crw = nn.Sequential(_conv_act(crw.conv1), _conv_act(crw.conv2))
        self.depthwise_convs = nn.ModuleList(
            [fold_conv_module(m)[0] for m in block.depthwise_convs]
        )
        self.spatial_weighting = nn.ModuleList(
            [DeploySpatialWeighting(m) for m in block.spatial_weighting]
        )

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        halves = [s.chunk(2, dim=1) for s in x]
        second = [h[1] for h in halves]
        smallest = second[-1].shape[-2:]
        pooled = [pool_to(s, smallest) for s in second]
        weights = torch.split(
            self.crw(torch.cat(pooled, dim=1)), self.channels, dim=1
        )
        out = []
        for (kept, s), w, dw, sw in zip(
            halves, weights, self.depthwise_convs, self.spatial_weighting
        ):
            y = dw(mul_upsampled(s, w))
            scale = sw.weights(y)
            if not write_in_place(y):
                out.append(shuffle_cat(kept, y * scale))
            else:
                buf, first, second_half = shuffled_halves(y, 2 * y.shape[1])
                first.copy_(kept)
                torch.mul(y, scale, out=second_half)
                out.append(buf)
        return out


class DeployShuffleUnit(nn.Module):
    """The NAIVE block with BN folded."""

    def __init__(self, unit: ShuffleUnit) -> None:
        super().__init__()
        self.branch2 = nn.Sequential(*[_conv_act(m) for m in unit.branch2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, y = x.chunk(2, dim=1)
        return shuffle_cat(kept, self.branch2(y))


class DeployFusion(nn.Module):
    """The official fusion (see :mod:`litehrnet_mm.models.blocks.fusion`)
    with BN folded, ``2 * f_i0`` folded into the weights of ``f_i0``, the
    ReLU applied, and the upsampled terms of a branch summed from the
    lowest resolution up when the sizes divide (one full-size add per
    branch instead of one per term)."""

    def __init__(self, fuse_layers: nn.ModuleList) -> None:
        super().__init__()
        n = len(fuse_layers)
        self.num_branches = n
        layers = nn.ModuleList()
        for i in range(n):
            row = nn.ModuleList()
            for j in range(n):
                f = fuse_layers[i][j]
                if f is None:
                    row.append(nn.Identity())
                elif isinstance(f, FuseUp):
                    conv, norm, _ = f
                    row.append(fold_conv_bn(conv, norm))
                elif isinstance(f, FuseDown):
                    scale = 2.0 if j == 0 else 1.0
                    row.append(fold_sequential(f, scale=scale))
                else:
                    raise TypeError(
                        f'switch_to_deploy: unexpected fuse layer {f!r}'
                    )
            layers.append(row)
        self.layers = layers

    def _up_terms(self, i: int, x: Sequence[torch.Tensor], base):
        """``base + sum_{j > i} up(f_ij(x_j))``."""
        n = self.num_branches
        if i == n - 1:
            return base
        sizes = [s.shape[-2:] for s in x]
        chain = all(
            exact_ratio(sizes[j], sizes[j + 1]) == (2, 2)
            for j in range(i, n - 1)
        )
        if not chain:
            for j in range(i + 1, n):
                base = add_upsampled(base, self.layers[i][j](x[j]))
            return base
        acc = self.layers[i][n - 1](x[n - 1])
        for j in range(n - 2, i, -1):
            acc = add_upsampled(self.layers[i][j](x[j]), acc)
        return add_upsampled(base, acc)

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        n = self.num_branches
        y0 = self._up_terms(0, x, x[0] + x[0])
        out = [y0]
        for i in range(1, n):
            y = self.layers[i][0](y0)
            for j in range(1, i + 1):
                y = y + (x[i] if j == i else self.layers[i][j](x[j]))
            out.append(self._up_terms(i, x, y))
        if functional_mode():
            return [F.relu(y) for y in out]
        return [y.relu_() for y in out]


class DeployLiteHRModule(nn.Module):
    def __init__(self, module: LiteHRModule) -> None:
        super().__init__()
        self.lite = module.module_type == 'LITE'
        if self.lite:
            self.layers = nn.ModuleList([DeployCCW(b) for b in module.layers])
        else:
            self.layers = nn.ModuleList(
                [
                    nn.Sequential(*[DeployShuffleUnit(u) for u in branch])
                    for branch in module.layers
                ]
            )
        self.fusion = (
            DeployFusion(module.fuse_layers)
            if module.fuse_layers is not None
            else None
        )

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        if self.lite:
            out = list(x)
            for block in self.layers:
                out = block(out)
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        if self.fusion is not None:
            out = self.fusion(out)
        return out


class DeployIterativeHead(nn.Module):
    def __init__(self, head: IterativeHead) -> None:
        super().__init__()
        self.projects = nn.ModuleList(
            [
                nn.Sequential(
                    _conv_act(p.depthwise_conv), _conv_act(p.pointwise_conv)
                )
                for p in head.projects
            ]
        )

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return refine_low_to_high(x, self.projects)
