"""Multi-resolution fusion, the exchange between branches after each module.

Output branch ``i`` sums every input branch ``j`` brought to its resolution
and channels by ``f_ij``: a 1x1 conv, BN and nearest upsampling for lower
resolutions (``j > i``); ``i - j`` strided depthwise-separable convs for
higher ones (``j < i``); the identity for ``j == i``.

The official quirk, kept here on purpose
----------------------------------------
The official code (and mmpose's port) starts output 0 with ``y = x[0]`` and
adds into it in place, so the tensor of branch 0 itself becomes the fused
sum before the other outputs read it. What every trained Lite-HRNet
checkpoint therefore computes is::

    y0    = 2 * x0 + sum_{j >= 1} f_0j(x_j)
    out_0 = relu(y0)
    out_i = relu(2 * f_i0(y0) + x_i + sum_{j >= 1, j != i} f_ij(x_j))

Branch 0 enters output 0 twice and every other output reads the fused,
pre-ReLU ``y0`` (twice, because the official loop calls ``f_i0`` on it once
to start the sum and once more inside it). A fusion without the aliasing
differs from the port by about 0.11 on outputs whose mean magnitude is 0.06,
so it would break every published checkpoint. We compute exactly the
formula above, without in-place tricks, and evaluate the repeated ``f_i0``
once: ``a + a`` is bitwise ``2 * a``, gradients are the same, and about a
fifth of the conv work of Lite-HRNet-18 is saved. The one observable
difference from the port is that the BN layers of ``f_i0`` update their
running statistics once per training step, not twice.
"""

from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from litehrnet_mm.utils.typing import ConfigType, OptConfigType

from .resize import resize


class ResizeNearest(nn.Module):
    """Nearest resizing to an exact size (``nn.Upsample`` by a scale factor
    breaks on inputs that are not multiples of the branch strides)."""

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        return resize(x, size)


class FuseUp(nn.Sequential):
    """1x1 conv, BN, nearest resize: a lower-resolution branch to a higher
    one (``f_ij`` with ``j > i``)."""

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        conv, norm, resize = self
        return resize(norm(conv(x)), size)


class FuseDown(nn.Sequential):
    """Strided depthwise-separable convs: a higher-resolution branch to a
    lower one (``f_ij`` with ``j < i``)."""

    def forward(
        self, x: torch.Tensor, size: Optional[Sequence[int]] = None
    ) -> torch.Tensor:
        return super().forward(x)


def separable_conv(
    in_channels: int,
    out_channels: int,
    stride: int,
    conv_cfg: OptConfigType,
    norm_cfg: ConfigType,
    with_relu: bool,
) -> nn.Sequential:
    """3x3 depthwise conv, BN, 1x1 conv, BN (, ReLU), as plain layers: the
    parameter names of the official transitions and fusions."""
    layers = [
        build_conv_layer(
            conv_cfg,
            in_channels,
            in_channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            groups=in_channels,
            bias=False,
        ),
        build_norm_layer(norm_cfg, in_channels)[1],
        build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size=1, bias=False
        ),
        build_norm_layer(norm_cfg, out_channels)[1],
    ]
    if with_relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_fuse_layers(
    channels: Sequence[int], conv_cfg: OptConfigType, norm_cfg: ConfigType
) -> nn.ModuleList:
    """``fuse_layers[i][j]`` is ``f_ij`` (None on the diagonal)."""
    fuse_layers = nn.ModuleList()
    for i, c_out in enumerate(channels):
        row = nn.ModuleList()
        for j, c_in in enumerate(channels):
            if j > i:
                row.append(
                    FuseUp(
                        build_conv_layer(
                            conv_cfg, c_in, c_out, kernel_size=1, bias=False
                        ),
                        build_norm_layer(norm_cfg, c_out)[1],
                        ResizeNearest(),
                    )
                )
            elif j == i:
                row.append(None)
            else:
                # i - j stride-2 steps; only the last one changes channels,
                # and all but the last end with a ReLU.
                steps = i - j
                row.append(
                    FuseDown(
                        *[
                            separable_conv(
                                c_in,
                                c_out if k == steps - 1 else c_in,
                                2,
                                conv_cfg,
                                norm_cfg,
                                with_relu=k < steps - 1,
                            )
                            for k in range(steps)
                        ]
                    )
                )
        fuse_layers.append(row)
    return fuse_layers


def fuse(
    fuse_layers: nn.ModuleList, x: Sequence[torch.Tensor]
) -> List[Optional[torch.Tensor]]:
    """The official fusion (see the module docstring), ReLU not applied.
    A row of ``fuse_layers`` that is None (an output nobody reads, see
    ``LiteHRModule.unread_outputs``) gives None."""
    sizes = [s.shape[-2:] for s in x]
    y0 = x[0] + x[0]
    for j in range(1, len(x)):
        y0 = y0 + fuse_layers[0][j](x[j], sizes[0])
    out: List[Optional[torch.Tensor]] = [y0]
    for i in range(1, len(x)):
        if fuse_layers[i] is None:
            out.append(None)
            continue
        twice = fuse_layers[i][0](y0, sizes[i])
        y = twice + twice
        for j in range(1, len(x)):
            y = y + (x[i] if j == i else fuse_layers[i][j](x[j], sizes[i]))
        out.append(y)
    return out
