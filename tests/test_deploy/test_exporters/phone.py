"""What the tests of the phone runtimes share: a tiny Lite-HRNet (two
stages, 8-32 channels) on 64x48 images, so that a conversion takes
seconds, and its export through the one export function. The ExecuTorch
and LiteRT tests export a one-stage net: every op type of a LITE stage
and of a fusion, and half the nodes (their converters' passes cost by the
node: ExecuTorch fp32 took 18 s for the two-stage net, 10 s for this)."""

import numpy as np
import torch

from litehrnet_mm.analysis.models import PoseModel
from litehrnet_mm.analysis.weights import random_weights_
from litehrnet_mm.deploy.export import export
from litehrnet_mm.models.backbones.litehrnet import LiteHRNet

SHAPE = (64, 48)

#: Both block types, a fusion of three branches, the iterative head.
TINY = dict(
    stem=dict(stem_channels=16, out_channels=16, expand_ratio=1),
    num_stages=2,
    stages_spec=dict(
        num_modules=(1, 1),
        num_branches=(2, 3),
        num_blocks=(1, 1),
        module_type=('NAIVE', 'LITE'),
        with_fuse=(True, True),
        reduce_ratios=(4, 4),
        num_channels=((8, 16), (8, 16, 32)),
    ),
    with_head=True,
)


#: One LITE stage of two branches: the cross-resolution and spatial
#: weightings, a fusion, the iterative head.
ONE_STAGE = dict(
    TINY,
    num_stages=1,
    stages_spec=dict(
        num_modules=(1,),
        num_branches=(2,),
        num_blocks=(1,),
        module_type=('LITE',),
        with_fuse=(True,),
        reduce_ratios=(4,),
        num_channels=((8, 16),),
    ),
)


def tiny_model(seed: int = 0, extra: dict = TINY) -> PoseModel:
    """The tiny Lite-HRNet (or another ``extra``) with a 1x1 heatmap conv,
    random weights (BN statistics of ``rand`` images), heatmaps scaled to
    peak near 1."""
    model = PoseModel(LiteHRNet(extra=extra), num_keypoints=5)
    random_weights_(model, (2, 3, *SHAPE), seed=seed)
    model.eval()
    with torch.no_grad():
        peak = model(torch.rand(1, 3, *SHAPE)).abs().max()
        model.final_layer.weight.div_(peak)
        model.final_layer.bias.div_(peak)
    return model


def images(n: int = 1, seed: int = 1) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, *SHAPE, generator=gen).numpy()


def calibration(n: int = 8) -> list:
    return [images(1, seed=100 + i) for i in range(n)]


SUFFIX = {'ncnn': '.param', 'executorch': '.pte', 'litert': '.tflite'}


def exported(folder, runtime, precision, batch=1, extra=TINY):
    """``export`` of a fresh tiny model (or another ``extra``) into
    ``folder``; returns (result, model)."""
    model = tiny_model(extra=extra)
    calib = calibration() if precision == 'int8' else None
    result = export(
        model,
        runtime,
        precision,
        SHAPE,
        str(folder / f'tiny_{precision}{SUFFIX[runtime]}'),
        batch=batch,
        calib=calib,
    )
    return result, model


def pytorch(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def assert_runs_like_pytorch(result, model, batch: int) -> None:
    """``load_runtime`` on the artifact of ``result`` takes a static batch
    of ``batch`` and gives PyTorch's heatmaps within 1e-4 of the output
    scale, on images other than the export's check."""
    from litehrnet_mm.deploy.runtimes import load_runtime

    runtime = load_runtime(result.path, threads=1)
    assert runtime.input_shape == (batch, 3, *SHAPE)
    x = images(batch, seed=7)
    (got,) = runtime(x)
    expected = pytorch(model, x)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4 * result.output_scale
