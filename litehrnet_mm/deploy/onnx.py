"""ONNX export of a Lite-HRNet model in deploy form, checked against ONNX
Runtime.

The backbones are switched to their deploy form first. The export is
static by default: batch, height and width are fixed, and sizes inside
the deploy form are constants, so the graph holds the network's compute and
no shape arithmetic (sizes read from tensors used to turn every resize,
split and shuffle into thousands of Shape, Gather, Slice and Concat nodes
that ONNX Runtime and OpenVINO run one by one). The graph has
no BatchNormalization and no adaptive pooling with a computed output size
(the cause of the export failures reported for the official code and
mmpose's port).
"""

import json
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .artifact import plain
from .switch import switch_to_deploy


def flatten_outputs(out) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    flat = []
    for o in out:
        flat.extend(flatten_outputs(o))
    return flat


def switch_backbones(model: nn.Module) -> int:
    """Switch every Lite-HRNet backbone inside ``model`` to its deploy
    form; returns how many there were."""
    from litehrnet_mm.models.backbones.litehrnet import backbones_in

    found = backbones_in(model)
    for m in found:
        switch_to_deploy(m, channels_last=False)
    return len(found)


def export_onnx(
    model: nn.Module,
    shape: Sequence[int],
    file: str,
    batch: int = 1,
    dynamic_batch: bool = False,
    opset: int = 17,
    check: bool = True,
    seed: int = 0,
    metadata: Optional[Dict[str, object]] = None,
) -> Optional[float]:
    """Export ``model`` (its Lite-HRNet backbones switched to deploy form, in
    place) for (batch, 3, H, W) inputs.

    Args:
        model (nn.Module): ``image -> output(s)``, e.g. a
            :class:`~litehrnet_mm.analysis.models.PoseModel` or
            :class:`~litehrnet_mm.analysis.models.HostModel`.
        shape (Sequence[int]): ``(H, W)``.
        file (str): Where to write the ``.onnx`` file.
        batch (int): The batch size of the static graph. Defaults to 1.
        dynamic_batch (bool): Leave the batch axis free instead (the same
            nodes, the batch read at run time; a little slower, as the
            runtimes plan fixed shapes better).
        opset (int): ONNX opset. Defaults to 17.
        check (bool): Compare ONNX Runtime with PyTorch on random images.
        metadata (dict, optional): Stored in the model's metadata as JSON
            under the key ``litehrnet_mm`` (what the inference tool needs
            to pre- and post-process images).

    Returns:
        float or None: The largest absolute difference over all outputs
        when ``check``.
    """
    model.eval()
    if not switch_backbones(model):
        raise TypeError(
            'export_onnx: the model has no LiteHRNet backbone to switch '
            'to deploy form'
        )
    write_onnx(model, shape, file, batch, dynamic_batch, opset, seed, metadata)
    if not check:
        return None
    check_batch = 2 if dynamic_batch else batch
    return check_onnx(model, file, shape, check_batch, seed + 1)


def write_onnx(
    model: nn.Module,
    shape: Sequence[int],
    file: str,
    batch: int = 1,
    dynamic_batch: bool = False,
    opset: int = 17,
    seed: int = 0,
    metadata: Optional[Dict[str, object]] = None,
) -> str:
    """Write ``model`` as it is (no switch, no check) to the ``.onnx`` file
    ``file``, static unless ``dynamic_batch``; returns ``file``."""
    import onnx

    from litehrnet_mm.models.backbones.litehrnet import backbones_in

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f'export_onnx: batch={batch!r}; expected an int >= 1')
    model.eval()
    height, width = int(shape[0]), int(shape[1])
    gen = torch.Generator().manual_seed(seed)
    dummy = torch.rand(batch, 3, height, width, generator=gen)
    with torch.no_grad():
        num_outputs = len(flatten_outputs(model(dummy)))
    output_names = [f'output{i}' for i in range(num_outputs)]
    dynamic_axes = (
        {name: {0: 'batch'} for name in ['input'] + output_names}
        if dynamic_batch
        else None
    )
    with torch.no_grad(), warnings.catch_warnings():
        # Sizes turned into constants are intended: the shapes are fixed.
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
    if metadata is not None:
        embed_onnx_metadata(file, metadata)
    graph = onnx.load(file)
    onnx.checker.check_model(graph)
    ops = {node.op_type for node in graph.graph.node}
    if 'BatchNormalization' in ops and backbones_in(model):
        # Our deploy form folds every norm; other models (a peer's BN
        # after a global pool) keep theirs, and the runtimes run them.
        raise RuntimeError('export_onnx: BatchNormalization left in graph')
    return file


def embed_onnx_metadata(file: str, metadata: Dict[str, object]) -> None:
    """Store ``metadata`` as JSON in the ``.onnx`` file ``file`` (key
    ``litehrnet_mm``), replacing what it held."""
    import onnx

    graph = onnx.load(file)
    for i in reversed(range(len(graph.metadata_props))):
        if graph.metadata_props[i].key == 'litehrnet_mm':
            del graph.metadata_props[i]
    entry = graph.metadata_props.add()
    entry.key = 'litehrnet_mm'
    entry.value = json.dumps(plain(metadata))
    onnx.save(graph, file)


def check_onnx(
    model: nn.Module,
    file: str,
    shape: Sequence[int],
    batch: int = 1,
    seed: int = 1,
) -> float:
    """Largest absolute difference between ONNX Runtime and ``model``."""
    from .runtimes import OrtRuntime

    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, int(shape[0]), int(shape[1]), generator=gen)
    with torch.no_grad():
        expected = flatten_outputs(model(x))
    got = OrtRuntime(file)(x.numpy())
    return max_abs_diff(got, [e.numpy() for e in expected])


def max_abs_diff(
    got: Sequence[np.ndarray], expected: Sequence[np.ndarray]
) -> float:
    """Largest absolute difference between two lists of outputs, which must
    have the same number and shapes."""
    if len(got) != len(expected):
        raise RuntimeError(
            f'{len(got)} outputs where {len(expected)} were expected'
        )
    diff = 0.0
    for g, e in zip(got, expected):
        if tuple(g.shape) != tuple(e.shape):
            raise RuntimeError(
                f'an output of shape {tuple(g.shape)} where '
                f'{tuple(e.shape)} was expected'
            )
        diff = max(diff, float(np.abs(g - e).max()))
    return diff
