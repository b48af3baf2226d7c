"""Folding BatchNorm into the convolution before it."""

import copy
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm

#: Normalisation layers by their base classes (BN, SyncBN and IN are
#: ``_NormBase``).
_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def _foldable_norm(m: nn.Module) -> bool:
    """Whether ``m`` is a norm the deploy form folds: BatchNorm with
    running statistics."""
    return isinstance(m, _BatchNorm) and m.track_running_stats


def unfoldable_layers(model: nn.Module) -> List[str]:
    """The layers of ``model`` (``'name (type)'``) that the deploy form
    cannot fold: norms other than BN with running statistics (GN, LN, IN,
    BN with ``track_running_stats=False``: nothing fixed to fold), and
    ``ConvModule`` convs other than ``nn.Conv2d`` (``conv_cfg``)."""
    found = []
    for name, m in model.named_modules():
        if isinstance(m, _NORMS) and not _foldable_norm(m):
            found.append(f'{name} ({type(m).__name__})')
        elif isinstance(m, ConvModule) and not isinstance(m.conv, nn.Conv2d):
            found.append(f'{name}.conv ({type(m.conv).__name__})')
    return found


def _bias_of(conv: nn.Module) -> torch.Tensor:
    """The conv's bias, zeros when it has none."""
    if conv.bias is not None:
        return conv.bias.detach()
    return conv.weight.detach().new_zeros(conv.out_channels)


def _fold_bn(
    bias: torch.Tensor, bn: _BatchNorm
) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(gain, bias)`` per output channel such that ``bn(y + b) = gain *
    y + bias`` for a conv output ``y`` without its bias ``b`` (``bias``
    given), with ``bn``'s running statistics."""
    gain = torch.rsqrt(bn.running_var + bn.eps)
    if bn.affine:
        gain = gain * bn.weight.detach()
    bias = (bias - bn.running_mean) * gain
    if bn.affine:
        bias = bias + bn.bias.detach()
    return gain, bias


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
    bias = _bias_of(conv)
    if bn is not None:
        if not _foldable_norm(bn):
            raise TypeError(
                f'switch_to_deploy: cannot fold {bn!r}; expected a '
                'BatchNorm layer with running statistics'
            )
        gain, bias = _fold_bn(bias, bn)
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
    return folded


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


def conv_act(module: ConvModule) -> nn.Sequential:
    """An mmcv ``ConvModule`` as its folded conv and its activation."""
    conv, act = fold_conv_module(module)
    if act == 'relu':
        return nn.Sequential(conv, nn.ReLU())
    if act == 'sigmoid':
        return nn.Sequential(conv, nn.Sigmoid())
    return nn.Sequential(conv)


def block_diagonal(parts: List[nn.Sequential]) -> nn.Sequential:
    """One 1x1 conv (and the common activation) doing the work of several
    1x1 convs on consecutive channel groups of its input."""
    convs = [p[0] for p in parts]
    acts = {type(p[1]) if len(p) > 1 else None for p in parts}
    if len(acts) != 1 or any(c.kernel_size != (1, 1) for c in convs):
        raise ValueError(
            'block_diagonal: expected 1x1 convs with one activation'
        )
    c_in = sum(c.in_channels for c in convs)
    c_out = sum(c.out_channels for c in convs)
    like = convs[0].weight
    merged = nn.Conv2d(
        c_in, c_out, 1, bias=True, device=like.device, dtype=like.dtype
    )
    with torch.no_grad():
        merged.weight.zero_()
        i = o = 0
        for c in convs:
            merged.weight[o : o + c.out_channels, i : i + c.in_channels] = (
                c.weight
            )
            merged.bias[o : o + c.out_channels] = c.bias
            i, o = i + c.in_channels, o + c.out_channels
    act = acts.pop()
    return (
        nn.Sequential(merged) if act is None else nn.Sequential(merged, act())
    )


def fold_transposed_conv_bn(
    conv: nn.ConvTranspose2d, bn: _BatchNorm
) -> nn.ConvTranspose2d:
    """A transposed conv with a bias that computes ``bn(conv(x))`` with
    the running statistics of ``bn`` (eval mode)."""
    if conv.groups != 1:
        raise ValueError(
            'fold_transposed_conv_bn: groups > 1 is not supported; '
            f'got groups={conv.groups}'
        )
    if not _foldable_norm(bn):
        raise TypeError(
            f'fold_transposed_conv_bn: cannot fold {bn!r}; expected a '
            'BatchNorm layer with running statistics'
        )
    weight = conv.weight.detach()
    gain, bias = _fold_bn(_bias_of(conv), bn)
    folded = copy.deepcopy(conv)
    if folded.bias is None:
        folded.bias = nn.Parameter(bias.clone())
    with torch.no_grad():
        # (in, out, kh, kw): the output channels are the second axis.
        folded.weight.copy_(weight * gain.reshape(1, -1, 1, 1))
        folded.bias.copy_(bias)
    return folded


def fold_norms_(model: nn.Module) -> int:
    """Fold, in place, every BatchNorm that directly follows a conv or a
    transposed conv inside an ``nn.Sequential`` of ``model`` (e.g. the
    deconv layers of a heatmap head, which the ONNX exporter leaves
    unfolded) into that conv, the BatchNorm becoming an ``nn.Identity``;
    returns how many were folded. For inference only (eval mode)."""
    count = 0
    for seq in list(model.modules()):
        if not isinstance(seq, nn.Sequential):
            continue
        names = list(seq._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = seq._modules[first], seq._modules[second]
            if not _foldable_norm(bn):
                continue
            if isinstance(conv, nn.ConvTranspose2d) and conv.groups == 1:
                seq._modules[first] = fold_transposed_conv_bn(conv, bn)
            elif isinstance(conv, nn.Conv2d):
                seq._modules[first] = fold_conv_bn(conv, bn)
            else:
                continue
            seq._modules[second] = nn.Identity()
            count += 1
    return count
