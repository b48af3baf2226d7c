"""One export for every runtime and precision, checked before it is kept.

:func:`export` switches the model's Lite-HRNet backbones to their deploy
form, has the runtime's exporter (:mod:`litehrnet_mm.deploy.exporters`)
write the artifact in a scratch folder, loads it with the runtime that
will run it and compares its outputs with PyTorch's on one input, and only
then moves it into place with its metadata beside it
(:mod:`litehrnet_mm.deploy.artifact`). ``tools/deploy/export.py`` is its
command line.
"""

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from litehrnet_mm.errors import DeployError
from litehrnet_mm.utils.paths import make_folder

from .artifact import metadata_file, write_metadata
from .exporters import EXPORTERS, PRECISIONS, ExportJob
from .onnx import (
    embed_onnx_metadata,
    flatten_outputs,
    max_abs_diff,
    switch_backbones,
)
from .runtimes import RUNTIMES
from .runtimes.base import describe

__all__ = [
    'ExportResult',
    'ParityError',
    'all_precisions',
    'check_accuracy_control',
    'check_dynamic_batch',
    'check_output',
    'check_pair',
    'check_shape',
    'export',
    'folder_kept_only_on_success',
    'pairs',
]


class ParityError(DeployError, RuntimeError):
    """An fp32 artifact that does not compute what PyTorch computes (a
    ``RuntimeError`` too): it is not written."""


@dataclass
class ExportResult:
    """What :func:`export` wrote and how close it came to PyTorch."""

    path: str
    max_abs_diff: float
    #: The largest absolute output of PyTorch on the check input.
    output_scale: float
    metadata: Dict[str, object]

    @property
    def relative_diff(self) -> float:
        """``max_abs_diff`` relative to the output scale (at least 1)."""
        return self.max_abs_diff / max(1.0, self.output_scale)


def all_precisions() -> List[str]:
    """Every precision some runtime has, sorted."""
    return sorted({p for ps in PRECISIONS.values() for p in ps})


def pairs() -> str:
    """Every runtime and its precisions, for messages."""
    return '; '.join(
        f'{runtime}: {", ".join(precisions)}'
        for runtime, precisions in sorted(PRECISIONS.items())
    )


def check_pair(runtime: str, precision: str) -> None:
    """One clear error for a runtime or a precision that does not exist."""
    if runtime not in PRECISIONS:
        raise DeployError(
            f'export: runtime={runtime!r}; expected one of '
            f'{", ".join(sorted(PRECISIONS))} ({pairs()})'
        )
    if precision not in PRECISIONS[runtime]:
        raise DeployError(
            f'export: {runtime} has no precision {precision!r}; expected '
            f'one of {", ".join(PRECISIONS[runtime])} ({pairs()})'
        )


def check_dynamic_batch(runtime: str, dynamic_batch: bool) -> None:
    """One clear error for a free batch axis asked of a runtime whose
    artifacts have a static one (ExecuTorch, LiteRT): it would be exported
    static while its metadata and the tool said the batch was free."""
    if dynamic_batch and not RUNTIMES[runtime].dynamic_batch:
        free = sorted(n for n, c in RUNTIMES.items() if c.dynamic_batch)
        raise DeployError(
            f'export: {runtime} artifacts take a static batch; expected '
            f'--batch N for {runtime} (a free batch axis, --dynamic-batch, '
            f'is for {", ".join(free)})'
        )


def check_shape(shape) -> tuple:
    """``(H, W)`` as ints, or one clear error unless it is two ints >= 1."""
    ok = (
        isinstance(shape, (tuple, list))
        and len(shape) == 2
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            for v in shape
        )
    )
    if not ok or min(shape) < 1:
        raise DeployError(
            f'export: shape={shape!r}; expected (H, W), two ints >= 1 (the '
            "input's height and width, e.g. 256 192)"
        )
    return int(shape[0]), int(shape[1])


def check_output(output: str, runtime: str, inputs: Sequence[str] = ()):
    """One clear error, before any work, unless ``output`` can take
    ``runtime``'s artifact: its suffix, a folder that exists or can be
    made and written, no folder where the artifact, a file beside it or its
    metadata go, and none of them one of the files the export reads
    (``inputs``: its config, its checkpoint) or the weights of another
    runtime's artifact of the same name (an OpenVINO ``m.xml`` and an ncnn
    ``m.param`` both keep theirs in ``m.bin``), so nothing a user saved is
    lost."""
    cls = RUNTIMES[runtime]
    stem, suffix = os.path.splitext(output)
    if suffix != cls.suffixes[0]:  # OpenVINO's serializer takes no '.XML'
        raise DeployError(
            f'export: output {output}: {runtime} writes a '
            f'{cls.suffixes[0]} file; expected a path such as '
            f'{stem or "model"}{cls.suffixes[0]}'
        )
    written = [output, metadata_file(output)]
    written += [stem + c for c in cls.companions.get(cls.suffixes[0], ())]
    read = {os.path.realpath(p) for p in inputs if p and os.path.exists(p)}
    for path in written:
        if os.path.isdir(path):
            raise DeployError(
                f'export: {path} is a folder; expected the path of a file '
                'to write'
            )
        if os.path.realpath(path) in read:
            raise DeployError(
                f'export: writing {path} would replace a file this export '
                'reads; expected another --output'
            )
        owner = _other_owner(path, output)
        if owner:
            raise DeployError(
                f'export: writing {path} would replace the weights of the '
                f'{owner[1]} artifact {owner[0]}; expected another '
                f'--output, e.g. {stem}_{runtime}{cls.suffixes[0]}'
            )
    make_folder(
        os.path.dirname(os.path.abspath(output)),
        f'export: output {output}: folder',
        DeployError,
    )


def _other_owner(path: str, output: str) -> Optional[Tuple[str, str]]:
    """``(file, runtime)`` of another artifact whose companion ``path`` is
    (an OpenVINO ``m.xml`` and an ncnn ``m.param`` both keep their
    weights in ``m.bin``), when ``path`` and that artifact both exist;
    else None."""
    if path == output or not os.path.isfile(path):
        return None
    stem, companion = os.path.splitext(path)
    for name, cls in sorted(RUNTIMES.items()):
        for suffix, companions in cls.companions.items():
            main = stem + suffix
            if companion in companions and main != output:
                if os.path.isfile(main):
                    return main, name
    return None


def _check_calib(calib, shape: Tuple[int, int]) -> None:
    """One clear error, before any work, unless ``calib`` is None or a
    list of normalised images, each a float (1, 3, H, W) array of the
    export's shape (what ``load_inputs`` prepares)."""
    if calib is None:
        return
    expected = (
        f'a list of float32 arrays of shape 1x3x{shape[0]}x{shape[1]} '
        '(normalised images, as litehrnet_mm.deploy.predict.load_inputs '
        'prepares them)'
    )
    if isinstance(calib, np.ndarray) or not isinstance(calib, (list, tuple)):
        raise DeployError(
            f'export: calib is a {type(calib).__name__}; expected {expected}'
        )
    for i, image in enumerate(calib):
        ok = (
            isinstance(image, np.ndarray)
            and np.issubdtype(image.dtype, np.floating)
            and image.shape == (1, 3, *shape)
        )
        if not ok:
            raise DeployError(
                f'export: calib[{i}] is {describe(image)}; expected {expected}'
            )


def as_tensor_model(model: nn.Module) -> nn.Module:
    """``model`` as ``images -> head outputs``: a host's model (an
    mmengine ``BaseModel`` from mmpose's or mmseg's ``init_model``, whose
    ``forward`` wants data samples) through its ``_forward``; any other
    model as it is."""
    try:
        from mmengine.model import BaseModel
    except ImportError:  # pragma: no cover - mmengine is a dependency
        return model
    if not isinstance(model, BaseModel):
        return model
    from litehrnet_mm.analysis.models import HostModel

    task = 'seg' if hasattr(model, 'decode_head') else 'pose'
    return HostModel(model, task)


def _check_input(
    shape: Sequence[int],
    batch: int,
    calib: Optional[List[np.ndarray]],
    seed: int,
) -> np.ndarray:
    """Calibration images when there are enough (the distribution the
    model is run on), else seeded uniform noise."""
    if calib and len(calib) >= batch:
        return np.concatenate(calib[:batch]).astype(np.float32)
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, *shape, generator=gen).numpy()


def check_accuracy_control(
    runtime: str, precision: str, max_drop: Optional[float]
) -> None:
    """One clear error unless ``max_drop`` is None or a drop (a number
    >= 0) asked of OpenVINO int8, the pair NNCF's accuracy control is
    for."""
    if max_drop is None:
        return
    if (runtime, precision) != ('openvino', 'int8'):
        raise DeployError(
            f"max_drop is for OpenVINO int8 (NNCF's accuracy control); got "
            f'runtime {runtime!r}, precision {precision!r}'
        )
    number = isinstance(max_drop, (int, float)) and not isinstance(
        max_drop, bool
    )
    if not number or max_drop < 0:
        raise DeployError(
            f'max_drop={max_drop!r}; expected a number >= 0 (the most of '
            'the metric int8 may lose: 0.01 AP, 1 mIoU)'
        )


@contextlib.contextmanager
def folder_kept_only_on_success(folder: str):
    """The folders of ``folder`` that do not exist yet (the export makes
    them before any work, to fail early) are removed again, when still
    empty, if the export fails: a refused export leaves nothing behind."""
    missing, top = [], os.path.abspath(folder)
    while not os.path.exists(top):
        missing.append(top)
        top = os.path.dirname(top)
    try:
        yield
    except BaseException:
        for made in missing:  # the deepest first
            try:
                os.rmdir(made)
            except OSError:
                break
        raise


def export(
    model: nn.Module,
    runtime: str,
    precision: str,
    shape: Sequence[int],
    output: str,
    batch: int = 1,
    calib: Optional[List[np.ndarray]] = None,
    metadata: Optional[Dict[str, object]] = None,
    dynamic_batch: bool = False,
    atol: Optional[float] = None,
    seed: int = 1,
    max_drop: Optional[float] = None,
    validation=None,
    inputs: Sequence[str] = (),
) -> ExportResult:
    """Export ``model`` for ``runtime`` at ``precision``.

    Args:
        model (nn.Module): ``image -> output(s)``; its Lite-HRNet
            backbones are switched to deploy form in place.
        runtime (str): A runtime of :data:`PRECISIONS`.
        precision (str): One of that runtime's precisions.
        shape (Sequence[int]): ``(H, W)`` of the input.
        output (str): The artifact's path (its main file; runtimes that
            write several put the others beside it).
        batch (int): The static batch size. Defaults to 1.
        calib (list[np.ndarray], optional): int8 calibration images as the
            model sees them, each (1, 3, H, W) float32. Required for int8.
        metadata (dict, optional): What inference needs (task,
            normalisation, ...), stored with the artifact.
        dynamic_batch (bool): Leave the batch axis free (ONNX Runtime,
            OpenVINO, ncnn; ExecuTorch and LiteRT are refused: their
            artifacts take a static batch).
        atol (float, optional): Keep the artifact only if its largest
            difference from PyTorch, relative to the output scale (at
            least 1), is at most this; None keeps it whatever it is.
        seed (int): The seed of the check input when there are no
            calibration images.
        max_drop (float, optional): OpenVINO int8 only: NNCF's accuracy
            control returns quantizers to fp32 until int8 loses at most
            this much of the host's metric on ``validation``
            (:mod:`litehrnet_mm.deploy.accuracy_control`); None: plain
            post-training int8.
        validation (HostMetric, optional): The metric ``max_drop`` is
            measured with; required with it.
        inputs (Sequence[str]): The files the export reads (config,
            checkpoint), which ``output`` may not replace.

    Returns:
        ExportResult: The path and the difference from PyTorch.
    """
    check_pair(runtime, precision)
    check_dynamic_batch(runtime, dynamic_batch)
    shape = check_shape(shape)
    if (
        isinstance(batch, bool)
        or not isinstance(batch, (int, np.integer))
        or batch < 1
    ):
        raise DeployError(f'export: batch={batch!r}; expected an int >= 1')
    batch = int(batch)
    _check_calib(calib, shape)
    if precision == 'int8' and not calib:
        raise DeployError(
            'export: int8 needs calibration images (calib=[(1, 3, H, W) '
            'arrays]; tools/deploy/export.py reads the training split or '
            '--calib-dir)'
        )
    check_accuracy_control(runtime, precision, max_drop)
    if max_drop is not None and validation is None:
        raise DeployError(
            'export: max_drop needs validation (a HostMetric of the '
            "config's training split; tools/deploy/export.py makes it)"
        )
    folder = os.path.dirname(os.path.abspath(output))
    with folder_kept_only_on_success(folder):
        check_output(output, runtime, inputs)
        model = as_tensor_model(model).eval()
        if not switch_backbones(model):
            raise DeployError(
                'export: the model has no LiteHRNet backbone to switch to '
                'deploy form; expected a config whose backbone is '
                "type='litehrnet_mm.LiteHRNet'"
            )
        x = _check_input(shape, batch, calib, seed)
        with torch.no_grad():
            outputs = flatten_outputs(model(torch.from_numpy(x)))
        expected = [o.numpy() for o in outputs]
        with tempfile.TemporaryDirectory() as work_dir:
            staged = os.path.join(work_dir, 'out')
            os.makedirs(staged)
            job = ExportJob(
                model=model,
                shape=shape,
                batch=batch,
                precision=precision,
                output=os.path.join(staged, os.path.basename(output)),
                work_dir=work_dir,
                calib=calib,
                dynamic_batch=dynamic_batch,
                validation=validation,
                max_drop=max_drop,
            )
            options = EXPORTERS[runtime](job) or {}
            compiled = RUNTIMES[runtime](job.output, None, **options)
            diff = max_abs_diff(compiled(x), expected)
            del compiled
            scale = float(max(np.abs(e).max() for e in expected))
            relative = diff / max(1.0, scale)
            if atol is not None and relative > atol:
                raise ParityError(
                    f'export: {runtime} at {precision} differs from PyTorch '
                    f'by {relative:.3e} relative to the output scale '
                    f'({diff:.3e}, outputs up to {scale:.3g}); expected at '
                    f'most {atol:g}. Nothing was written.'
                )
            meta = dict(metadata or {})
            meta.update(
                runtime=runtime,
                precision=precision,
                runtime_options=options,
                input_shape=['batch' if dynamic_batch else batch, 3, *shape],
                outputs=[list(e.shape[1:]) for e in expected],
                max_abs_diff=diff,
                output_scale=scale,
                check_input='calibration images' if calib else 'uniform noise',
            )
            if max_drop is not None:
                meta['accuracy_control'] = validation.summary(max_drop)
            if job.output.lower().endswith('.onnx'):
                embed_onnx_metadata(job.output, meta)
            for name in os.listdir(staged):
                shutil.move(
                    os.path.join(staged, name), os.path.join(folder, name)
                )
        path = os.path.join(folder, os.path.basename(output))
        write_metadata(path, meta)
        return ExportResult(path, diff, meta['output_scale'], meta)
