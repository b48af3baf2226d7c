"""ONNX Runtime on the CPU."""

from typing import List

import numpy as np

from .base import Runtime, register_runtime


@register_runtime('onnxruntime')
class OrtRuntime(Runtime):
    """ONNX Runtime, CPU, all graph optimisations on."""

    suffixes = ('.onnx',)
    precisions = ('fp32', 'int8')
    thread_safe = True  # InferenceSession.run may be called concurrently

    def __init__(self, file: str, threads=None, **options) -> None:
        super().__init__(file, threads, **options)
        import onnxruntime as ort

        session_options = ort.SessionOptions()
        session_options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        )
        if threads is not None:
            session_options.intra_op_num_threads = threads
            session_options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            file, session_options, providers=['CPUExecutionProvider']
        )
        self._input = self.session.get_inputs()[0].name

    @property
    def input_shape(self) -> tuple:
        return tuple(self.session.get_inputs()[0].shape)

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {self._input: images})
