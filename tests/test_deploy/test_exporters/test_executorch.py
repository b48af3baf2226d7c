"""ExecuTorch with XNNPACK: the one export function writes a .pte (in the
converters venv), checked against PyTorch, and load_runtime runs it. A
conversion costs about a minute here (most of it importing the
converter), so the fp32 one is shared and int8 is a slow test."""

import numpy as np
import pytest

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.runtimes import load_runtime
from tests.test_deploy.test_exporters.phone import (
    ONE_STAGE,
    assert_runs_like_pytorch,
    exported,
    images,
)

#: What XNNPACK has no kernel for: nearest upsampling (the cross-resolution
#: weights and the fusion's upsampled terms), and the layout copies that
#: hand tensors to it.
PORTABLE = {
    'aten.upsample_nearest2d.vec',
    'dim_order_ops._to_dim_order_copy.default',
}


@pytest.fixture(scope='module')
def fp32(tmp_path_factory):
    folder = tmp_path_factory.mktemp('executorch')
    return exported(folder, 'executorch', 'fp32', batch=2, extra=ONE_STAGE)


@pytest.mark.slow
def test_fp32_matches_pytorch_with_only_upsampling_outside_xnnpack(fp32):
    result, model = fp32
    assert result.path.endswith('.pte')
    assert result.max_abs_diff <= 1e-4 * result.output_scale
    meta = read_metadata(result.path)
    assert meta['runtime'] == 'executorch'
    options = meta['runtime_options']
    # Splits became slices and no add carries alpha: all else is XNNPACK's.
    assert set(options['not_delegated']) <= PORTABLE
    assert options['xnnpack_partitions'] >= 1
    assert_runs_like_pytorch(result, model, batch=2)


@pytest.mark.slow
def test_int8_of_the_designs_convs_takes_and_gives_float32(tmp_path):
    """Only the design's convs are int8 (the pointwise convs of the stem,
    the LITE blocks and the fusion; not the depthwise, first or weighting
    ones), and XNNPACK's runtime runs the program."""
    result, _ = exported(tmp_path, 'executorch', 'int8', extra=ONE_STAGE)
    options = result.metadata['runtime_options']
    assert set(options['not_delegated']) <= PORTABLE
    assert options['int8_convs'] >= 1
    (got,) = load_runtime(result.path, threads=1)(images(1))
    assert got.dtype == np.float32 and got.shape == (1, 5, 16, 12)
    assert np.isfinite(got).all()
