"""Resizing to an exact size: by a scale factor where the sizes divide,
the same values as resizing to the size, and sizes as Python ints."""

import pytest
import torch
import torch.nn.functional as F

from litehrnet_mm.models.blocks.resize import exact_ratio, resize, size_of


def test_size_of_gives_python_ints():
    size = size_of(torch.zeros(1, 2, 5, 7))
    assert size == (5, 7) and all(type(s) is int for s in size)


@pytest.mark.parametrize(
    'big, small, ratio',
    [
        ((8, 6), (4, 3), (2, 2)),
        ((8, 6), (2, 3), (4, 2)),
        ((7, 6), (4, 3), None),
    ],
)
def test_exact_ratio(big, small, ratio):
    assert exact_ratio(big, small) == ratio


@pytest.mark.parametrize('mode', ['nearest', 'bilinear'])
@pytest.mark.parametrize(
    'source, size', [((4, 3), (8, 6)), ((4, 3), (16, 3)), ((4, 3), (7, 5))]
)
def test_same_values_as_resizing_to_the_size(mode, source, size):
    x = torch.randn(2, 3, *source, generator=torch.Generator().manual_seed(0))
    align = dict(align_corners=True) if mode == 'bilinear' else {}
    expected = F.interpolate(x, size=size, mode=mode, **align)
    got = resize(x, torch.Size(size), mode=mode)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_same_size_is_the_input_itself():
    x = torch.rand(1, 2, 3, 4)
    assert resize(x, (3, 4)) is x
