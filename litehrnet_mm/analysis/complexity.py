"""Parameters, FLOPs in the official convention, and real conv MACs.

The official Lite-HRNet table was made with `torchstat`. Its rules, which
:func:`official_flops` reproduces:

* forward hooks on leaf modules only, so functional and tensor operations
  (``F.interpolate``, ``cat``, channel shuffle, multiply, add) count 0;
* a module called several times is counted once, for its last call (the
  fusion's shared ``ReLU`` counts only the lowest-resolution branch, the
  repeated ``f_i0`` convs count once);
* ``Conv2d``: its multiply-accumulates, plus one add per output element
  when it has a bias; ``BatchNorm2d``: 2 x numel; ``ReLU``: numel;
  ``AdaptiveAvgPool2d``: C x (H + 1) x (W + 1) of its input; ``Upsample``
  (and our :class:`ResizeNearest`): H x W of its output, channels not
  counted; ``Sigmoid`` and everything else 0;
* the total is printed in units of 2^20 ("M").

:func:`conv_macs` counts what the convolutions (transposed ones too)
really compute: every call, multiply-accumulates only, in units of 10^6
(``FlopCounterMode``'s convolution FLOPs / 2; linear layers and matrix
products are not counted). The
official fusion (and mmpose's port) run the convs ``f_i0`` of every fusion
twice on the same input; we run them once and double the result, so two
figures are reported: ``macs`` (the network as the official code and the
port compute it) and ``macs_ours`` (what this package computes).
"""

import math
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from litehrnet_mm.models.blocks.fusion import ResizeNearest
from litehrnet_mm.models.blocks.lite_hr_module import LiteHRModule

__all__ = [
    'CONVENTIONS',
    'complexity',
    'conv_macs',
    'count_params',
    'official_flops',
    'repeated_fusion_macs',
    'torchstat_count',
]

MEGA_OFFICIAL = 2.0**20
MEGA = 1e6


def _numel(t: torch.Tensor) -> int:
    return int(t.numel())


def _first_tensor(obj):
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)) and obj:
        return _first_tensor(obj[0])
    return None


def _conv_macs(module: _ConvNd, inp: torch.Tensor, out: torch.Tensor) -> int:
    """Multiply-accumulates of one conv call (no bias): each output value
    of a conv sums a kernel over its group's input channels; each input
    value of a transposed conv (a deconv head) is spread by a kernel over
    its group's output channels."""
    kernel = math.prod(module.kernel_size)
    if module.transposed:
        return kernel * module.out_channels // module.groups * _numel(inp)
    return kernel * module.in_channels // module.groups * _numel(out)


def torchstat_count(
    module: nn.Module, inp: torch.Tensor, out: torch.Tensor
) -> int:
    """FLOPs of one call of a leaf module under the torchstat rules."""
    if isinstance(module, nn.Conv2d):
        flops = _conv_macs(module, inp, out)
        if module.bias is not None:
            flops += _numel(out)
        return flops
    if isinstance(module, _BatchNorm):
        return _numel(inp) * (2 if module.affine else 1)
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU)):
        return _numel(inp)
    if isinstance(module, nn.AdaptiveAvgPool2d):
        n, c, h, w = inp.shape
        return n * c * (h + 1) * (w + 1)
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        return _numel(inp)
    if isinstance(module, (nn.Upsample, ResizeNearest)):
        return out.shape[0] * out.shape[-2] * out.shape[-1]
    if isinstance(module, nn.Linear):
        flops = module.in_features * _numel(out)
        if module.bias is not None:
            flops += _numel(out)
        return flops
    return 0


def _run_with_leaf_hooks(
    model: nn.Module,
    forward: Callable[[], object],
    on_call: Callable[[nn.Module, torch.Tensor, torch.Tensor], None],
) -> None:
    handles = []

    def hook(module, inputs, output):
        inp, out = _first_tensor(inputs), _first_tensor(output)
        if inp is not None and out is not None:
            on_call(module, inp, out)

    for m in model.modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in handles:
            h.remove()


def official_flops(model: nn.Module, forward: Callable[[], object]) -> float:
    """FLOPs of ``forward()`` in the torchstat convention, in units of
    2^20 (see the module docstring)."""
    last: Dict[int, int] = {}
    _run_with_leaf_hooks(
        model,
        forward,
        lambda m, i, o: last.__setitem__(id(m), torchstat_count(m, i, o)),
    )
    return sum(last.values()) / MEGA_OFFICIAL


def conv_macs(model: nn.Module, forward: Callable[[], object]) -> float:
    """Conv multiply-accumulates of ``forward()``, every call counted, in
    units of 10^6."""
    total = [0]

    def on_call(m, i, o):
        if isinstance(m, _ConvNd):
            total[0] += _conv_macs(m, i, o)

    _run_with_leaf_hooks(model, forward, on_call)
    return total[0] / MEGA


def repeated_fusion_macs(
    model: nn.Module, forward: Callable[[], object]
) -> float:
    """Conv MACs (10^6) of the ``f_i0`` calls that the official fusion makes
    a second time and we do not."""
    repeated = set()
    for m in model.modules():
        if isinstance(m, LiteHRModule) and m.fuse_layers is not None:
            for row in list(m.fuse_layers)[1:]:
                if row is not None:  # None: an output nobody reads
                    repeated.update(id(c) for c in row[0].modules())
    total = [0]

    def on_call(m, i, o):
        if isinstance(m, _ConvNd) and id(m) in repeated:
            total[0] += _conv_macs(m, i, o)

    _run_with_leaf_hooks(model, forward, on_call)
    return total[0] / MEGA


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


#: The conventions :func:`complexity` counts in, and what each reports.
CONVENTIONS = {
    'official': "flops_official: torchstat rules (the paper's table), "
    'units of 2^20',
    'macs': 'macs: conv multiply-accumulates of every call as the '
    'official code computes them (FlopCounterMode / 2), 10^6; macs_ours: '
    'the same of what this package computes',
}


def complexity(
    model: nn.Module,
    shape: Sequence[int],
    conventions: Sequence[str] = tuple(CONVENTIONS),
    forward: Optional[Callable[[torch.Tensor], object]] = None,
) -> Dict[str, float]:
    """The complexity report of ``model`` on one (1, 3, H, W) input.

    Args:
        model (nn.Module): The model (put in eval mode here).
        shape (Sequence[int]): ``(H, W)`` of the input.
        conventions (Sequence[str]): What to count, among
            :data:`CONVENTIONS`: ``'official'`` and/or ``'macs'``.
            Defaults to both.
        forward (callable, optional): How to run the model on the input;
            defaults to ``model(x)``.

    Returns:
        dict: ``params`` (count), and per convention: ``flops_official``
        (torchstat convention, 2^20); ``macs`` (conv MACs as the official
        code computes them, 10^6) and ``macs_ours`` (conv MACs this package
        computes, 10^6).
    """
    unknown = [c for c in conventions if c not in CONVENTIONS]
    if isinstance(conventions, str) or unknown or not conventions:
        raise ValueError(
            f'complexity: conventions={conventions!r}; expected a sequence '
            f'of names among {tuple(CONVENTIONS)}'
        )
    model.eval()
    height, width = shape
    x = torch.zeros(1, 3, height, width)
    run = forward if forward is not None else model

    def call():
        return run(x)

    report: Dict[str, float] = dict(params=count_params(model))
    if 'official' in conventions:
        report['flops_official'] = official_flops(model, call)
    if 'macs' in conventions:
        macs_ours = conv_macs(model, call)
        report['macs'] = macs_ours + repeated_fusion_macs(model, call)
        report['macs_ours'] = macs_ours
    return report
