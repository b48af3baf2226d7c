"""The deploy form of each block: BN folded into the convs, the same
function as the eager block in eval mode, with fewer and larger ops.

What each rewrite buys is measured by ``tools/analysis/benchmark.py`` (the
README's speed section). Each block is built from a trained eager block.
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
from litehrnet_mm.models.blocks.resize import resize, size_of
from litehrnet_mm.models.blocks.shuffle import ShuffleUnit
from litehrnet_mm.models.blocks.stem import Stem
from litehrnet_mm.models.blocks.weighting import ConditionalChannelWeighting

from .deferred import (
    Layout,
    ToLogicalOrder,
    WideLiteBlocks,
    block_layouts,
    convs_of,
    permute_layer_,
    weigh,
)
from .fold import block_diagonal, conv_act, fold_conv_bn, fold_sequential
from .ops import shuffle_cat


class DeployStem(nn.Module):
    """The stem with BN folded; with ``channels_last`` it turns the input
    channels-last, so that every conv after it runs in that layout."""

    def __init__(self, stem: Stem, channels_last: bool = False) -> None:
        super().__init__()
        self.channels_last = channels_last
        self.conv1 = conv_act(stem.conv1)
        self.branch1 = nn.Sequential(*[conv_act(m) for m in stem.branch1])
        self.branch2 = nn.Sequential(
            conv_act(stem.expand_conv),
            conv_act(stem.depthwise_conv),
            conv_act(stem.linear_conv),
        )
        self.half = self.conv1[0].out_channels // 2
        self.paths = None

    @property
    def shuffled(self) -> bool:
        """Whether the output is shuffled (not yet deferred)."""
        return self.paths is None

    def defer_shuffle_(self) -> Layout:
        """Leave the output's channel shuffle to the layers that read it,
        and run the two paths as one (in place, for OpenVINO's form:
        :func:`one_path`); return the channel order the output is left
        in (the paths' outputs concatenated)."""
        self.paths = one_path(self.conv1, self.branch1, self.branch2)
        self.branch1 = self.branch2 = None
        channels = convs_of(self.paths)[-1].out_channels
        # The order one shuffle of two halves leaves, as after a block.
        return block_layouts(_logical(channels), 1)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.conv1(x)
        if self.paths is not None:
            return self.paths(x)
        x1, x2 = x.split([self.half, self.half], dim=1)
        return shuffle_cat(self.branch1(x1), self.branch2(x2))


@torch.no_grad()
def one_path(
    conv1: nn.Sequential, branch1: nn.Sequential, branch2: nn.Sequential
) -> nn.Sequential:
    """The stem's two paths, on the halves of its first conv's (``conv1``)
    output, as one sequence of three convs on the whole of it, returning
    the two outputs concatenated: no split, no concatenation, one
    depthwise conv.

    - A 1x1 conv (ReLU) copies the first half (weights 1 and 0: each value
      times 1 plus zeros; the ReLU keeps it, as the first conv's ReLU made
      it non-negative) and runs the second path's expand conv on the
      second half.
    - One stride-2 depthwise conv: the first path's kernels on the copy,
      the second path's on the expanded channels.
    - One 1x1 conv (ReLU), block-diagonal: the first path's 1x1 conv and
      the second path's linear conv, which both end in a ReLU.

    The same function (each output the same products, plus zeros). In
    OpenVINO's channels-last layout the split and the concatenation ran on
    reference kernels, the split on the stem's largest map; at 256x192 the
    stem went from 8 executed layers to 4, 50-55 us faster at f32 and
    bf16."""
    dw1, pw1 = branch1
    expand, dw2, linear = branch2
    if not all(
        isinstance(m[-1], nn.ReLU) for m in (conv1, pw1, expand, linear)
    ):
        raise ValueError(
            "one_path: expected the stem's first conv and 1x1 convs to end "
            'in a ReLU'
        )
    half = conv1[0].out_channels // 2
    like = expand[0].weight
    copy = nn.Conv2d(half, half, 1, dtype=like.dtype, device=like.device)
    copy.weight.copy_(torch.eye(half)[:, :, None, None])
    copy.bias.zero_()
    a, b = dw1[0], dw2[0]
    if (a.kernel_size, a.stride, a.padding) != (
        b.kernel_size,
        b.stride,
        b.padding,
    ):
        raise ValueError(
            f'one_path: the two depthwise convs differ: {a} and {b}'
        )
    depthwise = nn.Conv2d(
        a.in_channels + b.in_channels,
        a.out_channels + b.out_channels,
        a.kernel_size,
        stride=a.stride,
        padding=a.padding,
        groups=a.groups + b.groups,
        dtype=a.weight.dtype,
        device=a.weight.device,
    )
    depthwise.weight.copy_(torch.cat((a.weight, b.weight)))
    depthwise.bias.copy_(torch.cat((a.bias, b.bias)))
    return nn.Sequential(
        block_diagonal([nn.Sequential(copy, nn.ReLU()), expand]),
        nn.Sequential(depthwise),
        block_diagonal([pw1, linear]),
    )


class DeployCCW(nn.Module):
    """Conditional channel weighting (the LITE block).

    The spatial weightings of all branches run as one pair of 1x1 convs
    with block-diagonal weights on the concatenated global means: two
    convs per block instead of two per branch (the same products; the
    zeros off the diagonal cost nothing measurable on 1x1 maps).
    """

    def __init__(self, block: ConditionalChannelWeighting) -> None:
        super().__init__()
        crw = block.cross_resolution_weighting
        self.channels = list(crw.channels)
        self.crw = nn.Sequential(conv_act(crw.conv1), conv_act(crw.conv2))
        self.depthwise_convs = nn.ModuleList(
            [conv_act(m) for m in block.depthwise_convs]
        )
        sws = list(block.spatial_weighting)
        self.spatial_weighting = nn.Sequential(
            block_diagonal([conv_act(sw.conv1) for sw in sws]),
            block_diagonal([conv_act(sw.conv2) for sw in sws]),
        )

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        halves = [s.split([c, c], dim=1) for s, c in zip(x, self.channels)]
        weighed = weigh(self, [h[1] for h in halves])
        return [shuffle_cat(h[0], z) for h, z in zip(halves, weighed)]


class DeployShuffleUnit(nn.Module):
    """The NAIVE block with BN folded."""

    def __init__(self, unit: ShuffleUnit) -> None:
        super().__init__()
        self.branch2 = nn.Sequential(*[conv_act(m) for m in unit.branch2])
        self.half = self.branch2[0][0].in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kept, y = x.split([self.half, self.half], dim=1)
        return shuffle_cat(kept, self.branch2(y))


class DeployFusion(nn.Module):
    """The official fusion (see :mod:`litehrnet_mm.models.blocks.fusion`)
    with BN folded, ``2 * f_i0`` folded into the weights of ``f_i0``, and
    the ReLU applied.

    The upsampled terms of an output are summed from the lowest resolution
    up, each upsampled by 2 onto the next (1x1 convs commute with nearest
    upsampling): one full-size add per output instead of one per term, on
    smaller maps. Used when every branch is twice the size of the next;
    otherwise each term is resized to its output.
    """

    def __init__(self, fuse_layers: nn.ModuleList) -> None:
        super().__init__()
        n = len(fuse_layers)
        self.num_branches = n
        layers = nn.ModuleList()
        for i in range(n):
            if fuse_layers[i] is None:  # an output nobody reads
                layers.append(None)
                continue
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

    def permute_(self, layouts: Sequence[Layout]) -> None:
        """Permute the terms' weights in place so that the fusion reads
        and writes each branch ``i`` in the channel order ``layouts[i]``
        (each output is its own input plus terms, so it keeps that
        branch's order)."""
        for i, row in enumerate(self.layers):
            if row is None:
                continue
            for j, term in enumerate(row):
                if i != j:
                    permute_layer_(term, layouts[j], layouts[i])

    def _up_terms(
        self, i: int, x: Sequence[torch.Tensor], base: torch.Tensor, alpha=1
    ) -> torch.Tensor:
        """``alpha * base + sum_{j > i} up(f_ij(x_j))``."""
        n = self.num_branches
        sizes = [size_of(s) for s in x]
        halving = all(
            (2 * sizes[j + 1][0], 2 * sizes[j + 1][1]) == sizes[j]
            for j in range(i, n - 1)
        )
        if not halving:
            for j in range(i + 1, n):
                up = resize(self.layers[i][j](x[j]), sizes[i])
                base, alpha = _add_scaled(up, base, alpha), 1
            return base if alpha == 1 else alpha * base
        acc = None
        for j in range(n - 1, i, -1):
            term = self.layers[i][j](x[j])
            acc = term if acc is None else term + resize(acc, sizes[j])
        if acc is None:
            return base if alpha == 1 else alpha * base
        return _add_scaled(resize(acc, sizes[i]), base, alpha)

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        n = self.num_branches
        y0 = self._up_terms(0, x, x[0], alpha=2)
        out = [y0]
        for i in range(1, n):
            if self.layers[i] is None:
                out.append(None)
                continue
            y = self.layers[i][0](y0)
            for j in range(1, i + 1):
                y = y + (x[i] if j == i else self.layers[i][j](x[j]))
            out.append(self._up_terms(i, x, y))
        # In place in inference: every sum is a fresh tensor that no later
        # op reads. Not under autograd, which kept out[0] (a sum) for the
        # backward of the convs that read it.
        inplace = not torch.is_grad_enabled()
        return [None if y is None else F.relu(y, inplace=inplace) for y in out]


def _add_scaled(a: torch.Tensor, b: torch.Tensor, alpha) -> torch.Tensor:
    """``a + alpha * b``, spelled without ``torch.add(..., alpha=)``:
    LiteRT's converter fails on ``alpha`` and XNNPACK (ExecuTorch) leaves
    such an add to the portable kernels. ONNX export already wrote it as
    this Mul and Add, and doubling is exact: the values do not change."""
    return a + b if alpha == 1 else a + b * alpha


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

    def defer_shuffles_(self, layouts: Sequence[Layout]) -> List[Layout]:
        """Run the blocks of a LITE module as
        :class:`~litehrnet_mm.deploy.deferred.WideLiteBlocks` (no split,
        concatenation or shuffle inside) on branches in the channel orders
        ``layouts``, and its fusion in the orders they leave in; returns
        those orders. In place, for a graph's export (OpenVINO's)."""
        if not self.lite or isinstance(self.layers, WideLiteBlocks):
            raise ValueError('defer_shuffles_: expected a LITE module')
        self.layers = WideLiteBlocks(self.layers, layouts)
        if self.fusion is not None:
            self.fusion.permute_(self.layers.layouts)
        return self.layers.layouts

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        if isinstance(self.layers, WideLiteBlocks):
            out = self.layers(x)
        elif self.lite:
            out = list(x)
            for block in self.layers:
                out = block(out)
        else:
            out = [branch(s) for branch, s in zip(self.layers, x)]
        if self.fusion is not None:
            out = self.fusion(out)
        return out


def defer_shuffles_(model: nn.Module) -> nn.Module:
    """The deploy form of ``model`` (in place; returned) with the channel
    shuffles of its Lite-HRNet backbones written down instead of applied
    (:mod:`litehrnet_mm.deploy.deferred`): the stem leaves its branches
    unshuffled, LITE stages run their branches in the orders the shuffles
    leave, and each layer that reads a branch (a transition, a fusion
    term, the iterative head) has its weights permuted to that order; a
    permutation back to the logical order is left only where nothing can
    absorb it (before a NAIVE stage, and on each returned branch not
    already in it). The same function; the form OpenVINO's export traces.
    """
    from litehrnet_mm.models.backbones.litehrnet import backbones_in

    for backbone in backbones_in(model):
        if backbone.deployed and backbone.stem.shuffled:
            _defer_in_backbone(backbone)
    return model


def _logical(channels: int) -> Layout:
    return tuple(range(channels))


def _defer_in_backbone(backbone: nn.Module) -> None:
    layouts = [backbone.stem.defer_shuffle_()]
    for i in range(backbone.num_stages):
        inputs = []
        for j, layer in enumerate(getattr(backbone, f'transition{i}')):
            source = layouts[min(j, len(layouts) - 1)]
            if layer is None:
                inputs.append(source)
                continue
            out = _logical(convs_of(layer)[-1].out_channels)
            permute_layer_(layer, source, out)
            inputs.append(out)
        stage = getattr(backbone, f'stage{i}')
        if all(m.lite for m in stage):
            for module in stage:
                inputs = module.defer_shuffles_(inputs)
        else:
            stage.insert(0, ToLogicalOrder(inputs))
            inputs = [_logical(len(layout)) for layout in inputs]
        layouts = inputs
    if backbone.with_head:
        layouts = backbone.head_layer.permute_(layouts)
        backbone.head_layer = nn.Sequential(
            backbone.head_layer, ToLogicalOrder(layouts)
        )
    else:
        stage.append(ToLogicalOrder(layouts))


class DeployIterativeHead(nn.Module):
    """The iterative head with BN folded (the same low-to-high pass)."""

    def __init__(self, head: IterativeHead) -> None:
        super().__init__()
        self.projects = nn.ModuleList(
            [
                None
                if p is None  # a branch nobody reads
                else nn.Sequential(
                    conv_act(p.depthwise_conv), conv_act(p.pointwise_conv)
                )
                for p in head.projects
            ]
        )

    def permute_(self, layouts: Sequence[Layout]) -> List[Layout]:
        """Permute the projections' weights in place so that the head
        reads each branch ``i`` in the channel order ``layouts[i]``;
        returns the orders its outputs are left in. Each projection writes
        its output in the order of the branch it is added to next, so no
        permutation runs between them; the last one (the highest
        resolution it reaches) writes the logical order."""
        n = len(layouts)
        out = [_logical(len(layout)) for layout in layouts]
        for k, project in enumerate(self.projects):
            if project is None:
                break
            i = n - 1 - k
            feeds_next = (
                i > 0
                and k + 1 < len(self.projects)
                and self.projects[k + 1] is not None
            )
            out[i] = (
                layouts[i - 1]
                if feeds_next
                else _logical(convs_of(project)[-1].out_channels)
            )
            permute_layer_(project, layouts[i], out[i])
        return out

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return refine_low_to_high(x, self.projects)
