"""ONNX export of a Lite-HRNet model in deploy form, checked against ONNX
Runtime.

The backbone is switched to its deploy form first, so the graph has no
BatchNorm and no adaptive pooling with a computed output size (the cause
of the export failures reported for the official code and mmpose's port):
the cross-resolution pooling is a fixed-kernel ``AveragePool`` when the
branch sizes divide, and a product with constant pooling matrices when they
do not. The batch axis is dynamic; H and W are fixed by the export.
"""

import warnings
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .switch import switch_to_deploy


def _flatten(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(_flatten(o))
    return flat


def _switch_backbones(model: nn.Module, channels_last: bool) -> int:
    from litehrnet_mm.models.backbones.litehrnet import LiteHRNet

    found = [m for m in model.modules() if isinstance(m, LiteHRNet)]
    for m in found:
        switch_to_deploy(m, channels_last=channels_last)
    return len(found)


def export_onnx(
    model: nn.Module,
    shape: Sequence[int],
    file: str,
    opset: int = 17,
    check: bool = True,
    check_batch: int = 2,
    seed: int = 0,
) -> Optional[float]:
    """Export ``model`` (its Lite-HRNet backbones switched to deploy form, in
    place) for (N, 3, H, W) inputs with a dynamic N.

    Args:
        model (nn.Module): ``image -> output(s)``, e.g. a
            :class:`~litehrnet_mm.analysis.models.PoseModel` or
            :class:`~litehrnet_mm.analysis.models.HostModel`.
        shape (Sequence[int]): ``(H, W)``.
        file (str): Where to write the ``.onnx`` file.
        opset (int): ONNX opset. Defaults to 17.
        check (bool): Compare ONNX Runtime with PyTorch on a batch of
            ``check_batch`` random images (another batch size than the one
            traced, so the dynamic axis is exercised).

    Returns:
        float or None: The largest absolute difference over all outputs
        when ``check``.
    """
    import onnx

    model.eval()
    if not _switch_backbones(model, channels_last=False):
        raise TypeError(
            'export_onnx: the model has no LiteHRNet backbone to switch '
            'to deploy form'
        )
    height, width = int(shape[0]), int(shape[1])
    gen = torch.Generator().manual_seed(seed)
    dummy = torch.rand(1, 3, height, width, generator=gen)
    with torch.no_grad():
        num_outputs = len(_flatten(model(dummy)))
    output_names = [f'output{i}' for i in range(num_outputs)]
    dynamic_axes = {name: {0: 'batch'} for name in ['input'] + output_names}
    with torch.no_grad(), warnings.catch_warnings():
        # Sizes turned into constants are intended: H and W are fixed.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (dummy,),
            file,
            input_names=['input'],
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    graph = onnx.load(file)
    onnx.checker.check_model(graph)
    ops = {node.op_type for node in graph.graph.node}
    if 'BatchNormalization' in ops:
        raise RuntimeError('export_onnx: BatchNormalization left in graph')
    if not check:
        return None
    return check_onnx(model, file, (height, width), check_batch, seed + 1)


def ort_session(file: str, threads: Optional[int] = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    )
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(
        file, options, providers=['CPUExecutionProvider']
    )


def check_onnx(
    model: nn.Module,
    file: str,
    shape: Sequence[int],
    batch: int = 2,
    seed: int = 1,
) -> float:
    """Largest absolute difference between ONNX Runtime and ``model``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, int(shape[0]), int(shape[1]), generator=gen)
    with torch.no_grad():
        expected = _flatten(model(x))
    got = ort_session(file).run(None, {'input': x.numpy()})
    if len(got) != len(expected):
        raise RuntimeError(
            f'check_onnx: {len(got)} ONNX outputs, {len(expected)} expected'
        )
    diff = 0.0
    for g, e in zip(got, expected):
        if tuple(g.shape) != tuple(e.shape):
            raise RuntimeError(
                f'check_onnx: ONNX output {g.shape}, expected {tuple(e.shape)}'
            )
        diff = max(diff, float(np.abs(g - e.numpy()).max()))
    return diff
