"""OpenVINO on the CPU.

Its inference precision is explicit: on CPUs with bf16 support OpenVINO's
default is bf16, which changes the outputs and any speed comparison, so an
artifact says which one it was made for, twice: in its metadata
(``inference_precision`` in its ``runtime_options``), which this runtime is
given, and in the IR itself
(:data:`~litehrnet_mm.deploy.artifact.IR_HINT`), which this runtime
follows when it is given none (an ``.xml`` whose metadata file was not
copied with it); a file that names none (a plain ``.onnx``) runs in
f32. OpenVINO's CPU plugin (2026.4) does not apply that hint by itself:
it reads only some of an IR's ``runtime_options`` (KV-cache precision,
dynamic quantization), so other applications pass it in their config.
"""

import warnings
from typing import List, Optional

import numpy as np

from ..artifact import ir_precision
from .base import Runtime, register_runtime


def latency_config(
    inference_precision: str = 'f32', threads: Optional[int] = None
) -> dict:
    """The CPU plugin's config for one request at a time: the latency
    hint, the inference precision and (when given) the threads. What this
    runtime compiles with, and the profile and the layer-cost chains too,
    so that their figures are those of the same compiled model."""
    config = {
        'INFERENCE_PRECISION_HINT': inference_precision,
        'PERFORMANCE_HINT': 'LATENCY',
    }
    if threads is not None:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    return config


@register_runtime('openvino')
class OpenVINORuntime(Runtime):
    """OpenVINO, CPU, latency hint.

    Args:
        inference_precision (str, optional): OpenVINO's
            ``INFERENCE_PRECISION_HINT`` (``'f32'`` or ``'bf16'``).
            Defaults to the one the IR names
            (:data:`~litehrnet_mm.deploy.artifact.IR_HINT`), else ``'f32'``.
    """

    suffixes = ('.xml', '.onnx')
    precisions = ('fp32', 'bf16', 'int8')
    companions = {'.xml': ('.bin',)}

    def __init__(
        self, file: str, threads=None, inference_precision=None, **options
    ) -> None:
        super().__init__(file, threads, **options)
        import openvino as ov

        core = ov.Core()
        model = core.read_model(file)
        if inference_precision is None:
            inference_precision = ir_precision(model) or 'f32'
        self.inference_precision = inference_precision
        self.compiled = core.compile_model(
            model, 'CPU', latency_config(inference_precision, threads)
        )
        self.request = self.compiled.create_infer_request()
        self._outputs = list(self.compiled.outputs)
        if self.compiled_precision != inference_precision:
            # A CPU without bf16 (no AVX512_BF16 or AMX) compiles a bf16
            # hint as f32: say so, or a bf16 figure would be an f32 one.
            warnings.warn(
                f'openvino: {file} asks for {inference_precision}; this '
                f'CPU runs it in {self.compiled_precision}',
                stacklevel=2,
            )

    @property
    def compiled_precision(self) -> str:
        """The inference precision OpenVINO compiled the model for (e.g.
        ``'f32'`` where the CPU has no bf16, whatever the hint)."""
        hint = self.compiled.get_property('INFERENCE_PRECISION_HINT')
        # An openvino.Type (its name 'f32', 'bf16'), or a string.
        name = getattr(hint, 'get_type_name', None)
        return name() if name else str(hint)

    @property
    def input_shape(self) -> tuple:
        return tuple(
            d.get_length() if d.is_static else 'batch'
            for d in self.compiled.input(0).get_partial_shape()
        )

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        result = self.request.infer({0: images})
        return [result[o] for o in self._outputs]
