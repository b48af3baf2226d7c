"""Folding BatchNorm into the convolution before it."""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm


def fold_conv_bn(
    conv: nn.Conv2d, bn: Optional[_BatchNorm] = None, scale: float = 1.0
) -> nn.Conv2d:
    """A conv with a bias that computes ``scale * bn(conv(x))`` with the
    running statistics of ``bn`` (eval mode)."""
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(
            f'switch_to_deploy: cannot fold a {type(conv).__name__}; '
            'expected an nn.Conv2d (conv_cfg=None)'
        )
    weight = conv.weight.detach()
    bias = (
        conv.bias.detach()
        if conv.bias is not None
        else weight.new_zeros(conv.out_channels)
    )
    if bn is not None:
        if not isinstance(bn, _BatchNorm) or not bn.track_running_stats:
            raise TypeError(
                f'switch_to_deploy: cannot fold {bn!r}; expected a '
                'BatchNorm layer with running statistics'
            )
        gain = torch.rsqrt(bn.running_var + bn.eps)
        if bn.affine:
            gain = gain * bn.weight.detach()
        bias = (bias - bn.running_mean) * gain
        if bn.affine:
            bias = bias + bn.bias.detach()
        weight = weight * gain.reshape(-1, 1, 1, 1)
    folded = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        folded.weight.copy_(weight * scale)
        folded.bias.copy_(bias * scale)
    return _pointwise(folded)


class PointwiseConv(nn.Conv2d):
    """A 1x1 stride-1 conv that runs as one matrix product on
    channels-last inputs (no layout conversion, no im2col); elsewhere, and
    while tracing or compiling, an ordinary conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.dim() == 4
            and x.is_contiguous(memory_format=torch.channels_last)
            and not (torch.jit.is_tracing() or torch.compiler.is_compiling())
        ):
            out = F.linear(
                x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias
            )
            return out.permute(0, 3, 1, 2)
        return super().forward(x)


def _pointwise(conv: nn.Conv2d) -> nn.Conv2d:
    if (
        conv.kernel_size != (1, 1)
        or conv.stride != (1, 1)
        or conv.padding != (0, 0)
        or conv.groups != 1
    ):
        return conv
    conv.__class__ = PointwiseConv
    return conv


def fold_conv_module(module: ConvModule) -> Tuple[nn.Conv2d, Optional[str]]:
    """The folded conv of an mmcv ``ConvModule`` and the name of its
    activation (``'relu'``, ``'sigmoid'`` or None)."""
    if tuple(module.order) != ('conv', 'norm', 'act'):
        raise ValueError(
            f'switch_to_deploy: ConvModule order {module.order}; '
            "expected ('conv', 'norm', 'act')"
        )
    conv = fold_conv_bn(module.conv, module.norm if module.with_norm else None)
    return conv, _activation_name(
        module.activate if module.with_activation else None
    )


def _activation_name(act: Optional[nn.Module]) -> Optional[str]:
    if act is None:
        return None
    if isinstance(act, nn.ReLU):
        return 'relu'
    if isinstance(act, nn.Sigmoid):
        return 'sigmoid'
    raise TypeError(
        f'switch_to_deploy: unsupported activation {type(act).__name__}'
    )


def fold_sequential(seq: nn.Module, scale: float = 1.0) -> nn.Sequential:
    """Fold every conv-BN pair of a (nested) sequence of plain layers; a
    ``scale`` multiplies the last conv (nothing non-linear may follow it)."""
    flat: List[nn.Module] = []

    def walk(m: nn.Module) -> None:
        if isinstance(m, nn.Sequential):
            for child in m:
                walk(child)
        else:
            flat.append(m)

    walk(seq)
    layers: List[nn.Module] = []
    i = 0
    while i < len(flat):
        m = flat[i]
        if isinstance(m, nn.Conv2d):
            bn = flat[i + 1] if i + 1 < len(flat) else None
            if isinstance(bn, _BatchNorm):
                layers.append(fold_conv_bn(m, bn))
                i += 2
                continue
            layers.append(fold_conv_bn(m))
        elif isinstance(m, nn.ReLU):
            layers.append(nn.ReLU(inplace=True))
        else:
            raise TypeError(
                f'switch_to_deploy: cannot fold a {type(m).__name__} '
                'in a sequence of convs'
            )
        i += 1
    if scale != 1.0:
        if not isinstance(layers[-1], nn.Conv2d):
            raise ValueError('switch_to_deploy: cannot scale past a ReLU')
        with torch.no_grad():
            layers[-1].weight.mul_(scale)
            layers[-1].bias.mul_(scale)
    return nn.Sequential(*layers)
