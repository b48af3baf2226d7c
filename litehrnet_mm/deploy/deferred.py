"""OpenVINO's form: LITE stages with no channel split, concatenation or
shuffle inside.

Each block of a LITE module splits every branch in halves, weighs the
second half and shuffles the halves together:
``shuffle(cat(h0, weigh(h1)))``. Every op of the weighing is per channel
(pooling, the weighting multiplies, the depthwise conv) or a 1x1 conv, so a
:class:`WideCCW` runs it on the whole branch instead, with weights that
leave the kept half as it is: zero columns in the 1x1 convs for its
channels, a sigmoid bias that saturates to exactly 1 (so the weighting
multiplies by 1), and an identity kernel in the depthwise conv. The kept
channels pass through unchanged (each value times 1, plus zeros) and the
block needs no split and no concatenation.

Nor a shuffle: every op of the block, being per channel or a 1x1 conv,
runs in any channel order once its weights are permuted to match, so the
shuffle only changes which physical channel holds which logical one. The
blocks are built for the orders the shuffles leave (:func:`block_layouts`),
and every layer that reads a branch takes it in its order, its weights
permuted (:func:`permute_layer_`): the fusion's terms (each output is its
own branch plus terms, so it keeps that branch's order), the transitions
into the next stage (the stem's shuffle goes there too), the next stage's
blocks, and the iterative head, whose projections write each result in the
order of the branch it is added to next. A permutation back to the logical
order (:class:`ToLogicalOrder`, traced as a 1x1 conv:
:func:`~litehrnet_mm.deploy.ops.permute_channels`) is left only where no
layer can absorb it: on a returned branch the head leaves in another
branch's order (none for pose, which returns the highest resolution), and
before a NAIVE stage (:func:`~litehrnet_mm.deploy.blocks.defer_shuffles_`).

Nor, between two blocks of a module, the spatial weighting's multiply:
its scales are per channel, and the next block first pools its input and
multiplies it by the nearest resize of a per-channel weight, both linear
and per channel, so it applies them where the maps are small
(:func:`weigh_across`); only a module's last block multiplies its
branches. On Lite-HRNet-18: 24 multiplies of whole branches and 8 splits
fewer, 16 multiplies on pooled maps more.

Nor, in such a block, a global mean per branch: the block pools its
(unscaled) branches to the smallest size for the next block anyway, and
when every size is a multiple of the smallest the pooling windows are
equal, so the means of the pooled maps are the global means: one average
pool on the small concatenated maps replaces a mean over each full-size
branch and the next block's pooling (:class:`WideLiteBlocks`).

What it costs: the per-channel ops run on twice the channels (the kept
half too). What it saves: per block and branch a split, a concatenation
and a shuffle, data movement that OpenVINO's CPU plugin runs on reference
kernels in its channels-last layout; on Lite-HRNet-18 the executed layers
go from 699 to 547 (f32), to 531 with the scales carried, and to 515
with the means taken from the pooled maps. ONNX
Runtime, whose splits and concatenations are cheap in its planar layout,
ran this form 1.1x slower, so only the OpenVINO export traces it. The
same function, up to the order of the sums in the 1x1 convs and of the
multiplies; exactly the same in float64 (tested).
"""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from litehrnet_mm.models.blocks.resize import exact_ratio, resize, size_of

from .ops import global_mean, permute_channels, pool_to

#: A sigmoid bias whose output is exactly 1.0 in float32 and bfloat16
#: (``exp(-SATURATED)`` underflows to 0).
SATURATED = 1e4

#: For each physical channel of a branch, the logical channel it holds.
Layout = Tuple[int, ...]


def block_layouts(start: Layout, blocks: int) -> Tuple[List[Layout], Layout]:
    """The channel order of a branch before each of ``blocks`` blocks,
    and after the last, when it comes in the order ``start`` and the
    shuffles are only written down: the logical input channel ``i < half``
    is kept and becomes ``2 i``, ``half + j`` is weighed and becomes
    ``2 j + 1``."""
    half = len(start) // 2
    layout = tuple(start)
    layouts = []
    for _ in range(blocks):
        layouts.append(layout)
        layout = tuple(
            2 * c if c < half else 2 * (c - half) + 1 for c in layout
        )
    return layouts, layout


def order_of(layout: Layout) -> List[int]:
    """For each logical channel, the physical channel that holds it (the
    ``order`` of :func:`~litehrnet_mm.deploy.ops.permute_channels`)."""
    order = [0] * len(layout)
    for position, c in enumerate(layout):
        order[c] = position
    return order


def _weighed(layout: Layout, half: int) -> List[Tuple[int, int]]:
    """(physical channel, channel of the weighed half) for each weighed
    physical channel of ``layout``."""
    return [(p, c - half) for p, c in enumerate(layout) if c >= half]


def _widen_pair(
    pair: nn.Sequential, halves: Sequence[int], layouts: Sequence[Layout]
) -> nn.Sequential:
    """A weighting's two 1x1 convs (ReLU, then sigmoid), from the
    concatenated weighed halves to the concatenated whole branches in
    ``layouts``: zero columns for the kept channels, and for them a zero
    row with a :data:`SATURATED` bias (weight exactly 1)."""
    first, second = pair[0][0], pair[1][0]
    wide = sum(2 * h for h in halves)
    like = dict(dtype=first.weight.dtype, device=first.weight.device)
    conv1 = nn.Conv2d(wide, first.out_channels, 1, **like)
    conv2 = nn.Conv2d(first.out_channels, wide, 1, **like)
    conv1.weight.zero_()
    conv1.bias.copy_(first.bias)
    conv2.weight.zero_()
    conv2.bias.fill_(SATURATED)
    narrow = wide_at = 0
    for half, layout in zip(halves, layouts):
        for p, j in _weighed(layout, half):
            conv1.weight[:, wide_at + p] = first.weight[:, narrow + j]
            conv2.weight[wide_at + p] = second.weight[narrow + j]
            conv2.bias[wide_at + p] = second.bias[narrow + j]
        narrow, wide_at = narrow + half, wide_at + 2 * half
    return nn.Sequential(
        nn.Sequential(conv1, pair[0][1]), nn.Sequential(conv2, pair[1][1])
    )


def _widen_depthwise(
    dw: nn.Sequential, half: int, layout: Layout
) -> nn.Sequential:
    """A branch's depthwise conv on the whole branch in ``layout``: an
    identity kernel (and no bias) for the kept channels."""
    conv = dw[0]
    k = conv.kernel_size
    if conv.stride != (1, 1) or conv.padding != (k[0] // 2, k[1] // 2):
        raise ValueError(
            f'WideCCW: expected a stride-1 depthwise conv padded to keep '
            f'the size, got {conv}'
        )
    wide = nn.Conv2d(
        2 * half,
        2 * half,
        k,
        padding=conv.padding,
        groups=2 * half,
        dtype=conv.weight.dtype,
        device=conv.weight.device,
    )
    wide.weight.zero_()
    wide.bias.zero_()
    wide.weight[:, 0, k[0] // 2, k[1] // 2] = 1.0
    for p, j in _weighed(layout, half):
        wide.weight[p] = conv.weight[j]
        wide.bias[p] = conv.bias[j]
    return nn.Sequential(wide, *list(dw)[1:])


class WideCCW(nn.Module):
    """A :class:`~litehrnet_mm.deploy.blocks.DeployCCW` run on whole
    branches whose channels are in the orders ``layouts``; returns them in
    the same orders, the kept channels unchanged and the weighed ones
    replaced by their weighed values."""

    @torch.no_grad()
    def __init__(self, block: nn.Module, layouts: Sequence[Layout]) -> None:
        super().__init__()
        halves = list(block.channels)
        self.channels = [2 * h for h in halves]
        self.crw = _widen_pair(block.crw, halves, layouts)
        self.depthwise_convs = nn.ModuleList(
            _widen_depthwise(dw, h, layout)
            for dw, h, layout in zip(block.depthwise_convs, halves, layouts)
        )
        self.spatial_weighting = _widen_pair(
            block.spatial_weighting, halves, layouts
        )

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return weigh(self, x)


def weigh(block: nn.Module, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """The weighing of a LITE block (a ``DeployCCW`` on the halves it
    weighs, a :class:`WideCCW` on whole branches): the cross-resolution
    weighting, the depthwise convs and the spatial weighting."""
    ys = weigh_across(block, x, pool_all(x))
    means = global_means(ys)
    return apply_scales(ys, block.spatial_weighting(means), block.channels)


def global_means(ys: Sequence[torch.Tensor]) -> torch.Tensor:
    """Each branch's global mean, concatenated: ``(N, C, 1, 1)``."""
    return torch.cat([global_mean(y) for y in ys], dim=1)


def pool_all(x: Sequence[torch.Tensor]) -> torch.Tensor:
    """Every branch pooled to the smallest's size (the last branch's),
    concatenated: what a block's cross-resolution weighting reads."""
    smallest = size_of(x[-1])
    return torch.cat([pool_to(s, smallest) for s in x], dim=1)


def weigh_across(
    block: nn.Module,
    x: Sequence[torch.Tensor],
    pooled: torch.Tensor,
    carried: Optional[torch.Tensor] = None,
) -> List[torch.Tensor]:
    """:func:`weigh` up to the spatial weighting: the cross-resolution
    weighting, from the branches' pooled maps ``pooled``
    (:func:`pool_all`), and the depthwise convs.

    ``carried``, when given, are the previous block's spatial-weighting
    scales (all branches', ``(N, C, 1, 1)``), not yet applied: the
    block's input is ``x[i]`` times its part of them. Every op they meet
    before the next full-resolution multiply is linear and per channel
    (pooling; the nearest resize of a per-channel weight), so they are
    applied where the maps are small: to the pooled maps, and to the
    cross-resolution weights, which multiply the branches anyway. A
    full-resolution multiply per branch and a split fewer, for two
    multiplies on pooled maps."""
    if carried is not None:
        pooled = pooled * carried
    weights = block.crw(pooled)
    if carried is not None:
        weights = weights * carried
    return [
        dw(s * resize(w, size_of(s)))
        for s, w, dw in zip(
            x, weights.split(block.channels, 1), block.depthwise_convs
        )
    ]


def apply_scales(
    ys: Sequence[torch.Tensor], scales: torch.Tensor, channels: Sequence[int]
) -> List[torch.Tensor]:
    """Each branch times its part of the concatenated ``scales``."""
    return [y * s for y, s in zip(ys, scales.split(list(channels), 1))]


class WideLiteBlocks(nn.Module):
    """A LITE module's blocks as :class:`WideCCW` blocks, on branches that
    come in the orders ``start``; :attr:`layouts` are the orders they leave
    in."""

    def __init__(
        self, blocks: Sequence[nn.Module], start: Sequence[Layout]
    ) -> None:
        super().__init__()
        plans = [block_layouts(s, len(blocks)) for s in start]
        self.layers = nn.ModuleList(
            WideCCW(block, [layouts[k] for layouts, _ in plans])
            for k, block in enumerate(blocks)
        )
        self.layouts = [last for _, last in plans]

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        smallest = size_of(x[-1])
        # Every size a multiple of the smallest: the pooling windows are
        # equal, and the means of the pooled maps are the global means.
        exact = all(exact_ratio(size_of(s), smallest) for s in x)
        out, pooled, carried = list(x), pool_all(x), None
        for k, block in enumerate(self.layers):
            out = weigh_across(block, out, pooled, carried)
            if k + 1 < len(self.layers):
                pooled = pool_all(out)
                means = global_mean(pooled) if exact else global_means(out)
            else:
                means = global_means(out)
            carried = block.spatial_weighting(means)
        return apply_scales(out, carried, self.layers[-1].channels)


class ToLogicalOrder(nn.Module):
    """Each branch from the channel order ``layouts[i]`` back to the
    logical one (a ``None`` branch, which nobody reads, stays ``None``)."""

    def __init__(self, layouts: Sequence[Layout]) -> None:
        super().__init__()
        self.orders = [order_of(layout) for layout in layouts]

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        return [
            None if s is None else permute_channels(s, o)
            for s, o in zip(x, self.orders)
        ]


def convs_of(layer: nn.Module) -> List[nn.Conv2d]:
    return [m for m in layer.modules() if isinstance(m, nn.Conv2d)]


def _is_depthwise(conv: nn.Conv2d) -> bool:
    return conv.groups == conv.in_channels == conv.out_channels > 1


@torch.no_grad()
def permute_layer_(layer: nn.Module, inputs: Layout, outputs: Layout) -> None:
    """Permute, in place, a fusion term (a conv, or a sequence of convs
    and ReLUs) so that it reads its input in the channel order ``inputs``
    and writes its output in the order ``outputs``: the leading depthwise
    convs' channels and the first dense conv's input columns, then the
    last conv's output rows."""
    convs = convs_of(layer)
    index = torch.tensor(list(inputs))
    for conv in convs:
        if _is_depthwise(conv):
            conv.weight.copy_(conv.weight[index])
            conv.bias.copy_(conv.bias[index])
            continue
        conv.weight.copy_(conv.weight[:, index])
        break
    last = convs[-1]
    if _is_depthwise(last):
        raise ValueError(f'permute_layer_: ends with a depthwise conv {last}')
    index = torch.tensor(list(outputs))
    last.weight.copy_(last.weight[index])
    last.bias.copy_(last.bias[index])
