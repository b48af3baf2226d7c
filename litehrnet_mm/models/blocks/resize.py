"""Resizing to an exact size, by a constant scale factor where possible.

Nearest and align-corners bilinear resizing by an exact integer ratio give
the same values whether the ratio or the size is passed; passing the ratio
keeps a traced graph free of shape arithmetic (an ONNX ``Resize`` with
constant scales), and sizes are read as Python ints for the same reason.
"""

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

Size = Tuple[int, int]


def size_of(x: torch.Tensor) -> Size:
    """``(H, W)`` of ``x`` as Python ints."""
    return int(x.shape[-2]), int(x.shape[-1])


def exact_ratio(big: Sequence[int], small: Sequence[int]) -> Optional[Size]:
    """``(rh, rw)`` when ``big`` is an exact multiple of ``small``."""
    (h, w), (sh, sw) = big, small
    if h % sh or w % sw:
        return None
    return h // sh, w // sw


def resize(
    x: torch.Tensor, size: Sequence[int], mode: str = 'nearest'
) -> torch.Tensor:
    """``F.interpolate(x, size, mode)`` (``align_corners=True`` for
    bilinear, as the official code upsamples), by a scale factor when the
    sizes divide."""
    size = (int(size[0]), int(size[1]))
    if size_of(x) == size:
        return x
    align = dict(align_corners=True) if mode == 'bilinear' else {}
    ratio = exact_ratio(size, size_of(x))
    if ratio is not None:
        scale = (float(ratio[0]), float(ratio[1]))
        return F.interpolate(x, scale_factor=scale, mode=mode, **align)
    return F.interpolate(x, size=size, mode=mode, **align)
