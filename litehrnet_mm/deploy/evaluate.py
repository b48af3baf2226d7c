"""Accuracy of an exported model through the host's own test loop.

An artifact of ``tools/deploy/export.py`` computes the host model's
``_forward`` (image -> head output: heatmaps, or segmentation logits).
:func:`artifact_in_host` puts it in the place of the host model's backbone
and lets the head pass its input through, so the host's test loop runs
the artifact with everything else its own: data pipeline, flip test,
decoding, resizing and metric. Its figures are comparable with
``mim test``'s and with each other (fp32 against each reduced precision).
"""

import contextlib
import copy
import tempfile
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    'BOUNDS',
    'RuntimeModel',
    'artifact_in_host',
    'check_inputs',
    'evaluate_artifacts',
    'host_metrics',
    'host_parts',
    'ships',
]

#: What "no worse" means for shipping a reduced precision: the metric key
#: of each host and the most it may lose against fp32.
BOUNDS = {'mmpose': ('coco/AP', 0.01), 'mmseg': ('mIoU', 1.0)}


def ships(precision: str, change: float, bound: float) -> str:
    """The verdict on a precision that changed the metric by ``change``:
    ``''`` for fp32 (the reference), else ``'yes'`` when it loses at most
    ``bound``, ``'no'`` when it loses more."""
    if precision == 'fp32':
        return ''
    return 'yes' if -change <= bound else 'no'


class RuntimeModel(nn.Module):
    """A compiled static-shape model as a module: batches are padded to
    its batch size (and split when larger); returns its outputs as a
    tuple of tensors."""

    def __init__(self, runtime) -> None:
        super().__init__()
        self.runtime = runtime
        batch = runtime.input_shape[0]
        # A free batch axis takes any batch at once.
        self.batch = batch if isinstance(batch, int) else None

    def forward(self, x: torch.Tensor) -> tuple:
        x = x.detach().cpu().float().numpy()
        step = self.batch or x.shape[0]
        outputs: List[List[np.ndarray]] = []
        for start in range(0, x.shape[0], step):
            chunk = x[start : start + step]
            n = chunk.shape[0]
            if n < step:
                pad = np.zeros((step - n, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            outputs.append([o[:n] for o in self.runtime(chunk)])
        return tuple(
            torch.from_numpy(np.concatenate([o[i] for o in outputs]))
            for i in range(len(outputs[0]))
        )


def host_parts(model: nn.Module):
    """``(head, head_attribute_name)`` of an mmpose top-down estimator
    (``head``) or an mmseg encoder-decoder (``decode_head``)."""
    for name in ('head', 'decode_head'):
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return head, name
    raise TypeError(
        f'evaluate: {type(model).__name__} has neither a head nor a '
        'decode_head; expected an mmpose TopdownPoseEstimator or an mmseg '
        'EncoderDecoder'
    )


def _passthrough(feats):
    """The head's forward on the artifact's outputs: they already are
    the head's output."""
    return feats[0]


@contextlib.contextmanager
def artifact_in_host(model: nn.Module, runtime) -> Iterator[nn.Module]:
    """Within the block, ``model`` (a host model) runs ``runtime`` (a
    whole-model artifact) in place of its backbone, neck and head's
    forward; restored afterwards."""
    head, _ = host_parts(model)
    saved = dict(backbone=model.backbone, neck=getattr(model, 'neck', None))
    had_forward = 'forward' in head.__dict__
    old_forward = head.__dict__.get('forward')
    try:
        model.backbone = RuntimeModel(runtime)
        if saved['neck'] is not None:
            model.neck = None
        head.forward = _passthrough
        yield model
    finally:
        model.backbone = saved['backbone']
        if saved['neck'] is not None:
            model.neck = saved['neck']
        if had_forward:
            head.forward = old_forward
        else:
            del head.forward


def check_inputs(
    cfg,
    checkpoint: Optional[str],
    artifacts: Sequence[str] = (),
    threads: Optional[int] = None,
) -> None:
    """One clear error before any test loop runs (minutes on a real
    dataset): a checkpoint that does not fit the config (missing, broken,
    of the other task or another architecture), an artifact of the other
    task, one that its runtime cannot load (its files, its metadata,
    ``threads``), or one whose model returns another number of heatmaps or
    class maps than the config's keypoints or classes (the host's flip
    test and metric would fail or mislead on it)."""
    from litehrnet_mm.analysis.models import build_from_config, scope_of
    from litehrnet_mm.errors import DeployError

    from .artifact import read_metadata
    from .metadata import config_metadata
    from .runtimes import load_runtime
    from .runtimes.base import check_threads

    check_threads(threads, 'evaluate')
    if checkpoint is not None:
        build_from_config(copy.deepcopy(cfg), checkpoint)
    task = 'seg' if scope_of(cfg) == 'mmseg' else 'pose'
    labels = 'keypoints' if task == 'pose' else 'classes'
    expected = len(config_metadata(cfg)[labels]) if artifacts else None
    for path in artifacts:
        made_for = read_metadata(path).get('task')
        if made_for not in (None, task):
            raise DeployError(
                f'{path}: a {made_for} artifact, for a {task} config; '
                'expected one exported from this config'
            )
        runtime = load_runtime(path, threads=threads)
        shape = [
            1 if not isinstance(d, int) else d for d in runtime.input_shape
        ]
        channels = runtime(np.zeros(shape, np.float32))[0].shape[1]
        if channels != expected:
            raise DeployError(
                f'{path}: its model returns {channels} channels, the config '
                f'has {expected} {labels}; expected an artifact exported '
                'from this config'
            )


def evaluate_artifacts(
    cfg,
    checkpoint: Optional[str],
    artifacts: Sequence[str],
    threads: Optional[int] = None,
    eager: bool = True,
) -> Dict[str, Dict[str, float]]:
    """The host's test metrics of the PyTorch model (``eager``) and of
    each artifact, in one runner: ``{'PyTorch': {...}, path: {...}}``."""
    from mmengine.registry import init_default_scope

    from litehrnet_mm.analysis.models import scope_of

    from .quantize import build_runner
    from .runtimes import load_runtime

    init_default_scope(scope_of(cfg))
    metrics: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as work_dir:
        runner = build_runner(copy.deepcopy(cfg), checkpoint, work_dir)
        if eager:
            metrics['PyTorch'] = dict(runner.test_loop.run())
        for path in artifacts:
            runtime = load_runtime(path, threads=threads)
            with artifact_in_host(runner.model, runtime):
                metrics[path] = dict(runner.test_loop.run())
            del runtime
    return metrics


def host_metrics(
    cfg,
    checkpoint: Optional[str],
    artifacts: Sequence[str],
    threads: Optional[int] = None,
):
    """``(key, bound, metrics)``: the host's metric (``coco/AP``,
    ``mIoU``), the most a reduced precision may lose of it, and
    :func:`evaluate_artifacts`'s metrics, each holding the key (one error
    when the config's evaluator measures something else)."""
    from litehrnet_mm.analysis.models import scope_of
    from litehrnet_mm.errors import DeployError

    key, bound = BOUNDS[scope_of(cfg)]
    metrics = evaluate_artifacts(cfg, checkpoint, artifacts, threads=threads)
    missing = [n for n, m in metrics.items() if key not in m]
    if missing:
        raise DeployError(
            f'no {key!r} in the metrics of {missing[0]}: '
            f'{sorted(metrics[missing[0]])}; expected a config whose test '
            f'evaluator reports {key}'
        )
    return key, bound, metrics
