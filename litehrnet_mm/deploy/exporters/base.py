"""What an exporter is given, and the table of runtimes and precisions.

An exporter writes one runtime's artifact of a model whose Lite-HRNet
backbones are already in deploy form. It registers the precisions it
makes with :func:`register_exporter`; :func:`litehrnet_mm.deploy.export`
checks a request against that table, so a pair that does not exist gets
one error listing those that do.
"""

import contextlib
import copy
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch.nn as nn

from ..runtimes import RUNTIMES

#: Runtime -> the precisions its exporter makes (those it runs).
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
        int8_design: int8 with Lite-HRNet's design
            (:mod:`litehrnet_mm.deploy.quantize`: which convs stay fp32
            for ONNX Runtime, ncnn, LiteRT and ExecuTorch, NNCF's options
            for OpenVINO); False runs
            the quantizer over the whole graph with its defaults, as a
            user would apply it to another model (the benchmark's
            peers).
        validation: The host's metric on the training split
            (:class:`~litehrnet_mm.deploy.accuracy_control.HostMetric`)
            for ``max_drop``.
        max_drop: OpenVINO int8 with NNCF's accuracy control: int8 loses
            at most this much of ``validation``'s metric; None: plain
            post-training int8.
    """

    model: nn.Module
    shape: Tuple[int, int]
    batch: int
    precision: str
    output: str
    work_dir: str
    calib: Optional[List[np.ndarray]] = None
    dynamic_batch: bool = False
    int8_design: bool = True
    validation: Optional[object] = None
    max_drop: Optional[float] = None
    _onnx: Dict[bool, str] = field(default_factory=dict, repr=False)

    def onnx(self, openvino: bool = False) -> str:
        """The model as a static fp32 ONNX graph in ``work_dir`` (written
        once per form); the starting point of the ONNX-based exporters.
        ``openvino`` traces OpenVINO's form of the same function: no
        split, concatenation or shuffle inside a LITE stage, the channel
        orders the shuffles leave absorbed into the weights of the layers
        that read them (:mod:`litehrnet_mm.deploy.deferred`, on a copy of
        the model), the
        global means as fixed-kernel pools
        (:func:`litehrnet_mm.deploy.ops.openvino_form`).

        The BatchNorms that the ONNX exporter leaves in the graph (those
        after a head's transposed convs; the backbone's are folded by its
        deploy form) are folded into their convs first, in place: every
        ONNX-based runtime gets the same graph (OpenVINO its own form of
        it).
        """
        if openvino not in self._onnx:
            from ..blocks import defer_shuffles_
            from ..fold import fold_norms_
            from ..onnx import write_onnx
            from ..ops import openvino_form

            fold_norms_(self.model)
            model, form = self.model, contextlib.nullcontext()
            if openvino:
                model = defer_shuffles_(copy.deepcopy(self.model))
                form = openvino_form()
            with form:
                self._onnx[openvino] = write_onnx(
                    model,
                    self.shape,
                    os.path.join(
                        self.work_dir,
                        'model_openvino.onnx' if openvino else 'model.onnx',
                    ),
                    batch=self.batch,
                    dynamic_batch=self.dynamic_batch,
                )
        return self._onnx[openvino]

    @property
    def task(self) -> Optional[str]:
        """The model's task (``'pose'``, ``'seg'``), None when it does
        not say."""
        return getattr(self.model, 'task', None)

    @property
    def keep_fp32(self) -> Optional[List[str]]:
        """The quantizers' ``keep_fp32``: None (Lite-HRNet's design
        picks the convs) or none kept (the quantizer's defaults)."""
        return None if self.int8_design else []


def register_exporter(runtime: str) -> Callable[[Callable], Callable]:
    """Decorator: ``fn(job) -> runtime_options`` writes ``job.output`` for
    ``runtime`` at any of the precisions that runtime runs
    (:attr:`~litehrnet_mm.deploy.runtimes.Runtime.precisions`); what it
    returns is stored in the artifact's metadata and given to the runtime
    that loads it."""

    def register(fn: Callable) -> Callable:
        PRECISIONS[runtime] = RUNTIMES[runtime].precisions
        EXPORTERS[runtime] = fn
        return fn

    return register
