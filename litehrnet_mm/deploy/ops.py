"""The pooling and shuffling of the deploy form, written so that a
static-shape ONNX export holds no shape arithmetic (sizes are read as
Python ints, constants in a traced graph).

A channel shuffle traces as reshape-transpose-reshape, and a global mean
as ``GlobalAveragePool``; inside :func:`openvino_form` (what the OpenVINO
exporter traces: see there) as a 1x1 conv with a permutation matrix and a
fixed-kernel ``AveragePool``.

Pooling to the smallest branch is a fixed-kernel ``AveragePool`` where the
sizes divide, and products with constant pooling matrices where they do
not: adaptive pooling with a computed output size does not export (the
failure users report for the official code and mmpose's port).
"""

import contextlib
from typing import Iterator

import numpy as np
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
    cols = _pool_matrix(int(x.shape[-1]), size[1], x).t().contiguous()
    return torch.matmul(torch.matmul(rows, x), cols)


def global_mean(x: torch.Tensor) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(x, 1)``; in the OpenVINO form
    (:func:`openvino_form`) traced as a fixed-kernel ``AveragePool`` over
    the whole map: OpenVINO runs ONNX's ``GlobalAveragePool`` as a
    ``ReduceMean``, which at bf16 took twice its f32 time, with a layout
    reorder on each side (48 of them in Lite-HRNet-18)."""
    if _OPENVINO_FORM[0] and torch.jit.is_tracing():
        return F.avg_pool2d(x, kernel_size=size_of(x))
    return F.adaptive_avg_pool2d(x, 1)


def _pool_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, n_in): row i averages the window adaptive pooling uses
    (start floor(i * n_in / n_out), end ceil((i + 1) * n_in / n_out)).
    Built outside the graph, so that a trace records one constant."""
    matrix = np.zeros((n_out, n_in), dtype=np.float64)
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return torch.from_numpy(matrix).to(dtype=like.dtype, device=like.device)


_OPENVINO_FORM = [False]


@contextlib.contextmanager
def openvino_form() -> Iterator[None]:
    """Trace the ops OpenVINO's CPU plugin runs slowly in the forms it
    runs fast: :func:`shuffle_cat` (and :func:`permute_channels`) as a
    concatenation and a 1x1 conv with a permutation matrix (weights 0 and
    1, no bias) instead of reshape-transpose-reshape, and
    :func:`global_mean` as a fixed-kernel average pool.

    The same function, exactly (each output of the permutation is one
    input times 1 plus zeros; at bf16 and int8 too, as 0 and 1 are exact
    there). OpenVINO runs a channel shuffle of Lite-HRNet's widths (halves
    of 20, 40, 80, 160 channels) as ShuffleChannels in about 100 us per
    layer at 256x192: with 49 of them, about a third of the network's
    time. As a conv it runs on the conv kernels in the graph's own layout
    and precision (u8 under int8, bf16 under bf16). With the deferred
    shuffles of :mod:`litehrnet_mm.deploy.deferred` such a conv is left
    only on a returned branch that no layer could take in its order.
    """
    previous, _OPENVINO_FORM[0] = _OPENVINO_FORM[0], True
    try:
        yield
    finally:
        _OPENVINO_FORM[0] = previous


def permute_channels(x: torch.Tensor, order) -> torch.Tensor:
    """``x[:, order]``: output channel ``k`` is input channel
    ``order[k]``. Traced as a 1x1 conv with a permutation matrix (weights
    0 and 1, no bias; see :func:`openvino_form` for why); nothing when
    ``order`` is the identity."""
    order = [int(k) for k in order]
    if order == list(range(int(x.shape[1]))):
        return x
    if not torch.jit.is_tracing():
        return x.index_select(1, torch.tensor(order, device=x.device))
    # Built outside the graph, so that the trace records one constant.
    matrix = np.eye(int(x.shape[1]), dtype=np.float32)[order]
    weight = torch.from_numpy(matrix[:, :, None, None].copy())
    return F.conv2d(x, weight.to(dtype=x.dtype, device=x.device))


def _shuffle_order(c: int) -> list:
    """The ``order`` of ``channel_shuffle(x, 2)`` on ``c`` channels."""
    return [(k % 2) * (c // 2) + k // 2 for k in range(c)]


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
    if _OPENVINO_FORM[0] and torch.jit.is_tracing():
        x = torch.cat((a, b), dim=1)
        return permute_channels(x, _shuffle_order(ca + cb))
    c, (h, w) = ca + cb, size_of(a)
    x = torch.cat((a, b), dim=1).reshape(-1, 2, c // 2, h, w)
    return x.transpose(1, 2).reshape(-1, c, h, w)
