"""The pooling and shuffling of the deploy form, written so that a
static-shape ONNX export holds no shape arithmetic (sizes are read as
Python ints, constants in a traced graph).

A channel shuffle traces as reshape-transpose-reshape, or, inside
:func:`shuffles_as_convs`, as a 1x1 conv with a permutation matrix (what
the OpenVINO exporter traces: see there).

Pooling to the smallest branch is a fixed-kernel ``AveragePool`` where the
sizes divide, and products with constant pooling matrices where they do
not: adaptive pooling with a computed output size does not export (the
failure users report for the official code and mmpose's port).
"""

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F

from litehrnet_mm.models.blocks.resize import Size, exact_ratio, size_of


def pool_to(x: torch.Tensor, size: Size) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(x, size)`` as a fixed-kernel average pool
    when the sizes divide, else as products with constant pooling
    matrices."""
    if size_of(x) == tuple(size):
        return x
    ratio = exact_ratio(size_of(x), size)
    if ratio is not None:
        return F.avg_pool2d(x, kernel_size=ratio, stride=ratio)
    rows = _pool_matrix(int(x.shape[-2]), size[0], x)
    cols = _pool_matrix(int(x.shape[-1]), size[1], x)
    return torch.matmul(torch.matmul(rows, x), cols.t())


def _pool_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, n_in): row i averages the window adaptive pooling uses
    (start floor(i * n_in / n_out), end ceil((i + 1) * n_in / n_out))."""
    matrix = torch.zeros(n_out, n_in, dtype=like.dtype, device=like.device)
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


_SHUFFLE_AS_CONV = [False]


@contextlib.contextmanager
def shuffles_as_convs() -> Iterator[None]:
    """Trace :func:`shuffle_cat` as a concatenation and a 1x1 conv with a
    permutation matrix (weights 0 and 1, no bias) instead of
    reshape-transpose-reshape.

    The same function, exactly (each output is one input times 1 plus
    zeros; at bf16 and int8 too, as 0 and 1 are exact there). OpenVINO's
    CPU plugin runs a channel shuffle of Lite-HRNet's widths (halves of 20,
    40, 80, 160 channels) in about 100 us per layer at 256x192: with 49 of
    them, about a third of the network's time. As a conv it runs on the
    conv kernels in the graph's own layout and precision (u8 under int8,
    bf16 under bf16), and the network got 1.15-1.3x faster at every
    precision (the README's reduced-precision section).
    """
    previous, _SHUFFLE_AS_CONV[0] = _SHUFFLE_AS_CONV[0], True
    try:
        yield
    finally:
        _SHUFFLE_AS_CONV[0] = previous


def _permutation_conv(x: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(x, 2)`` as a 1x1 conv: output channel ``k``
    reads input channel ``perm[k]``."""
    c = int(x.shape[1])
    perm = torch.arange(c).reshape(2, c // 2).t().reshape(-1)
    weight = torch.zeros(c, c, 1, 1, dtype=x.dtype, device=x.device)
    weight[torch.arange(c), perm] = 1.0
    return F.conv2d(x, weight)


def shuffle_cat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(torch.cat((a, b), 1), 2)`` in one copy.

    On channels-last tensors (eager PyTorch) the channels are the fastest
    axis, so stacking the two halves on a new last axis interleaves them;
    the concatenate-then-shuffle view copies twice. A traced graph gets the
    reshape-transpose-reshape that runtimes recognise as a channel shuffle
    (OpenVINO keeps its blocked layout through it; a stacked form cost it
    a layout conversion on both sides). The batch stays free.
    """
    ca, cb = int(a.shape[1]), int(b.shape[1])
    if (
        ca == cb
        and not torch.jit.is_tracing()
        and a.is_contiguous(memory_format=torch.channels_last)
        and b.is_contiguous(memory_format=torch.channels_last)
    ):
        nhwc = torch.stack((a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)), -1)
        return nhwc.flatten(3).permute(0, 3, 1, 2)
    if _SHUFFLE_AS_CONV[0] and torch.jit.is_tracing():
        return _permutation_conv(torch.cat((a, b), dim=1))
    c, (h, w) = ca + cb, size_of(a)
    x = torch.cat((a, b), dim=1).reshape(-1, 2, c // 2, h, w)
    return x.transpose(1, 2).reshape(-1, c, h, w)
