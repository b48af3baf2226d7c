"""Running an exported model: ONNX Runtime and OpenVINO behind one call.

Both take and return numpy arrays (N, 3, H, W) -> list of outputs, so the
inference tool and the benchmark treat them alike. OpenVINO runs in f32
unless asked otherwise: on CPUs with bf16 support its default precision is
bf16, which changes the outputs and any speed comparison.
"""

import os
from typing import List, Optional

import numpy as np

RUNTIMES = ('onnxruntime', 'openvino')


class Runtime:
    """A compiled model: ``runtime(images) -> [outputs]``."""

    name = ''

    def __init__(self, file: str, threads: Optional[int] = None) -> None:
        if not os.path.isfile(file):
            raise FileNotFoundError(
                f'{self.name}: model file {file} not found; expected an '
                '.onnx file written by tools/deploy/export_onnx.py (or an '
                'OpenVINO .xml with its .bin)'
            )
        self.file = file
        self.threads = threads

    @property
    def input_shape(self) -> tuple:
        """(N, 3, H, W); a free axis is named (e.g. ``'batch'``)."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        raise NotImplementedError


class OrtRuntime(Runtime):
    """ONNX Runtime, CPU, all graph optimisations on."""

    name = 'onnxruntime'

    def __init__(self, file: str, threads: Optional[int] = None) -> None:
        super().__init__(file, threads)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            file, options, providers=['CPUExecutionProvider']
        )
        self._input = self.session.get_inputs()[0].name

    @property
    def input_shape(self) -> tuple:
        return tuple(self.session.get_inputs()[0].shape)

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self._input: images})


class OpenVINORuntime(Runtime):
    """OpenVINO on the CPU, latency hint, f32 unless ``precision`` says
    otherwise."""

    name = 'openvino'

    def __init__(
        self,
        file: str,
        threads: Optional[int] = None,
        precision: str = 'f32',
    ) -> None:
        super().__init__(file, threads)
        import openvino as ov

        config = {
            'INFERENCE_PRECISION_HINT': precision,
            'PERFORMANCE_HINT': 'LATENCY',
        }
        if threads is not None:
            config['INFERENCE_NUM_THREADS'] = str(threads)
        core = ov.Core()
        self.compiled = core.compile_model(file, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self._outputs = list(self.compiled.outputs)

    @property
    def input_shape(self) -> tuple:
        return tuple(
            d.get_length() if d.is_static else 'batch'
            for d in self.compiled.input(0).get_partial_shape()
        )

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        result = self.request.infer({0: images})
        return [result[o] for o in self._outputs]


def load_runtime(
    file: str, runtime: str = 'onnxruntime', threads: Optional[int] = None
) -> Runtime:
    """The exported model ``file`` compiled by ``runtime``
    (``'onnxruntime'`` or ``'openvino'``)."""
    if runtime == 'onnxruntime':
        return OrtRuntime(file, threads)
    if runtime == 'openvino':
        return OpenVINORuntime(file, threads)
    raise ValueError(
        f'runtime={runtime!r}; expected one of {", ".join(RUNTIMES)}'
    )
