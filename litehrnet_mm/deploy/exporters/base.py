"""What an exporter is given, and the table of runtimes and precisions.

An exporter writes one runtime's artifact of a model whose Lite-HRNet
backbones are already in deploy form. It registers the precisions it
makes with :func:`register_exporter`; :func:`litehrnet_mm.deploy.export`
checks a request against that table, so a pair that does not exist gets
one error listing those that do.
"""

import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn

#: Runtime -> the precisions its exporter makes.
PRECISIONS: Dict[str, Tuple[str, ...]] = {}
#: Runtime -> its exporter.
EXPORTERS: Dict[str, Callable[['ExportJob'], Dict[str, object]]] = {}


@dataclass
class ExportJob:
    """One artifact to write.

    Attributes:
        model: ``image -> output(s)``, in eval mode, its Lite-HRNet
            backbones in deploy form (channels-first).
        shape: ``(H, W)`` of the input.
        batch: The static batch size.
        precision: ``'fp32'``, ``'bf16'``, ``'fp16'`` or ``'int8'``.
        output: The artifact's path (its main file) to write.
        work_dir: A folder for intermediate files, removed afterwards.
        calib: int8 calibration images as the model sees them, each
            (1, 3, H, W) float32; None for the other precisions.
        dynamic_batch: Leave the batch axis free (ONNX-based runtimes).
    """

    model: nn.Module
    shape: Tuple[int, int]
    batch: int
    precision: str
    output: str
    work_dir: str
    calib: Optional[List[np.ndarray]] = None
    dynamic_batch: bool = False
    _onnx: Optional[str] = field(default=None, repr=False)

    def onnx(self) -> str:
        """The model as a static fp32 ONNX graph in ``work_dir`` (written
        once); the starting point of the ONNX-based exporters.

        The BatchNorms that the ONNX exporter leaves in the graph (those
        after a head's transposed convs; the backbone's are folded by its
        deploy form) are folded into their convs first, in place: every
        ONNX-based runtime gets the same graph.
        """
        if self._onnx is None:
            from ..fold import fold_norms_
            from ..onnx import write_onnx

            fold_norms_(self.model)

            self._onnx = write_onnx(
                self.model,
                self.shape,
                os.path.join(self.work_dir, 'model.onnx'),
                batch=self.batch,
                dynamic_batch=self.dynamic_batch,
            )
        return self._onnx


def register_exporter(
    runtime: str, precisions: Sequence[str]
) -> Callable[[Callable], Callable]:
    """Decorator: ``fn(job) -> runtime_options`` writes ``job.output`` for
    ``runtime`` at any of ``precisions``; what it returns is stored in the
    artifact's metadata and given to the runtime that loads it."""

    def register(fn: Callable) -> Callable:
        PRECISIONS[runtime] = tuple(precisions)
        EXPORTERS[runtime] = fn
        return fn

    return register
