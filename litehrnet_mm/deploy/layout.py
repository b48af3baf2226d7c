"""Memory-layout helpers of the deploy form.

Eager inference writes results straight into their final place (a channel
shuffle of a concatenation becomes interleaved writes into one buffer,
nearest upsampling becomes a broadcast); under tracing, ONNX export and
``torch.compile`` the same results are built functionally, which those
tools handle better.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def functional_mode() -> bool:
    """True while tracing, exporting or compiling: no ``out=``, no in-place
    writes into views."""
    return bool(
        torch.jit.is_tracing()
        or torch.jit.is_scripting()
        or torch.compiler.is_compiling()
    )


def is_channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


def shuffled_halves(like: torch.Tensor, channels: int):
    """An empty (N, channels, H, W) buffer in the layout of ``like`` and the
    two views that ``channel_shuffle(cat(a, b), 2)`` writes ``a`` and ``b``
    into (channels 0, 2, 4, ... and 1, 3, 5, ...)."""
    n, _, h, w = like.shape
    fmt = (
        torch.channels_last
        if is_channels_last(like)
        else torch.contiguous_format
    )
    out = torch.empty(
        (n, channels, h, w), dtype=like.dtype, device=like.device
    ).contiguous(memory_format=fmt)
    pairs = out.unflatten(1, (channels // 2, 2))
    return out, pairs[:, :, 0], pairs[:, :, 1]


def write_in_place(like: torch.Tensor) -> bool:
    """Whether to write shuffled halves through ``out=`` views: fast in
    NCHW (whole planes), slow in channels-last (every other float), where
    one ``stack`` is faster."""
    return not (functional_mode() or is_channels_last(like))


def shuffle_cat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``channel_shuffle(torch.cat((a, b), 1), 2)`` in one copy."""
    if write_in_place(a):
        out, first, second = shuffled_halves(a, a.shape[1] + b.shape[1])
        first.copy_(a)
        second.copy_(b)
        return out
    return torch.stack((a, b), dim=2).flatten(1, 2)


def exact_ratio(big: Sequence[int], small: Sequence[int]) -> Optional[tuple]:
    """``(rh, rw)`` when ``big`` is an exact multiple of ``small``."""
    h, w = int(big[0]), int(big[1])
    sh, sw = int(small[0]), int(small[1])
    if h % sh or w % sw:
        return None
    return h // sh, w // sw


def _blocks(x: torch.Tensor, small: Sequence[int], ratio) -> torch.Tensor:
    """(N, C, h*rh, w*rw) viewed as (N, C, h, rh, w, rw)."""
    return x.unflatten(3, (int(small[1]), ratio[1])).unflatten(
        2, (int(small[0]), ratio[0])
    )


def _broadcastable(low: torch.Tensor) -> torch.Tensor:
    return low.unsqueeze(3).unsqueeze(5)


def mul_upsampled(x: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """``x * F.interpolate(low, size=x.shape[-2:], mode='nearest')``,
    as a broadcast (no upsampled copy) in NCHW when the sizes divide;
    channels-last nearest interpolation is faster than the broadcast."""
    ratio = exact_ratio(x.shape[-2:], low.shape[-2:])
    if ratio is None or is_channels_last(x):
        return x * F.interpolate(low, size=x.shape[-2:], mode='nearest')
    small = low.shape[-2:]
    out = _blocks(x, small, ratio) * _broadcastable(low)
    return out.flatten(4, 5).flatten(2, 3)


def add_upsampled(x: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
    """``x + F.interpolate(low, size=x.shape[-2:], mode='nearest')``, in
    place on ``x`` with a broadcast in eager NCHW mode when the sizes
    divide (see :func:`mul_upsampled`)."""
    ratio = exact_ratio(x.shape[-2:], low.shape[-2:])
    if ratio is None or is_channels_last(x):
        return x + F.interpolate(low, size=x.shape[-2:], mode='nearest')
    small = low.shape[-2:]
    if functional_mode():
        out = _blocks(x, small, ratio) + _broadcastable(low)
        return out.flatten(4, 5).flatten(2, 3)
    _blocks(x, small, ratio).add_(_broadcastable(low))
    return x


def pool_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(x, size)`` as a fixed-kernel average pool
    when the sizes divide; otherwise, while tracing or compiling, as
    products with constant pooling matrices (exportable either way, no
    adaptive pooling with a computed output size)."""
    if tuple(x.shape[-2:]) == tuple(int(s) for s in size):
        return x
    ratio = exact_ratio(x.shape[-2:], size)
    if ratio is not None:
        return F.avg_pool2d(x, kernel_size=ratio, stride=ratio)
    if functional_mode():
        rows = _pool_matrix(int(x.shape[-2]), int(size[0]), x)
        cols = _pool_matrix(int(x.shape[-1]), int(size[1]), x)
        return torch.matmul(torch.matmul(rows, x), cols.t())
    return F.adaptive_avg_pool2d(x, [int(s) for s in size])


def _pool_matrix(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, n_in): row i averages the window adaptive pooling uses
    (start floor(i * n_in / n_out), end ceil((i + 1) * n_in / n_out))."""
    rows = []
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        rows.append(
            [
                1.0 / (end - start) if start <= k < end else 0.0
                for k in range(n_in)
            ]
        )
    return torch.tensor(rows, dtype=like.dtype, device=like.device)
