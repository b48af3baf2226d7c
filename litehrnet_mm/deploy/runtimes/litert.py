"""LiteRT (the TFLite interpreter of ``ai-edge-litert``, with its default
XNNPACK delegate), on the CPU.

An int8 model from ai-edge-quantizer takes an int8 input and gives int8
outputs, each with its scale and zero point in the model: images are
quantized on the way in and the outputs dequantized on the way out, so
every precision takes and returns float32.
"""

from typing import List, Optional

import numpy as np

from .base import Runtime, register_runtime


def _quantized(details) -> Optional[tuple]:
    """``(scale, zero_point)`` of an integer tensor, else None."""
    if np.issubdtype(details['dtype'], np.floating):
        return None
    scale, zero_point = details['quantization']
    return float(scale), int(zero_point)


@register_runtime('litert')
class LiteRTRuntime(Runtime):
    """A ``.tflite`` model: fp32, fp16 (float16 weights, fp32 compute on
    CPUs without fp16 arithmetic) or int8."""

    name = 'litert'
    suffixes = ('.tflite',)
    precisions = ('fp32', 'fp16', 'int8')
    dynamic_batch = False  # litert-torch converts a static program

    def __init__(
        self,
        file: str,
        threads: Optional[int] = None,
        precision: str = 'fp32',
        **options,
    ) -> None:
        super().__init__(file, threads, **options)
        self.precision = precision
        from ai_edge_litert.interpreter import Interpreter

        threads = {'num_threads': int(threads)} if threads else {}
        self.interpreter = Interpreter(model_path=file, **threads)
        self.interpreter.allocate_tensors()
        signature = self.interpreter.get_signature_runner()
        inputs = signature.get_input_details()
        outputs = signature.get_output_details()
        # litert-torch names the outputs output_0, output_1, ...
        names = sorted(outputs, key=lambda n: int(n.rsplit('_', 1)[-1]))
        self._input = next(iter(inputs.values()))
        self._outputs = [outputs[n] for n in names]

    @property
    def input_shape(self) -> tuple:
        return tuple(int(d) for d in self._input['shape'])

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        x = np.ascontiguousarray(images, dtype=np.float32)
        q = _quantized(self._input)
        if q is not None:
            info = np.iinfo(self._input['dtype'])
            x = np.clip(np.round(x / q[0] + q[1]), info.min, info.max)
            x = x.astype(self._input['dtype'])
        it = self.interpreter
        it.set_tensor(self._input['index'], x)
        it.invoke()
        results = []
        for details in self._outputs:
            y = it.get_tensor(details['index'])
            q = _quantized(details)
            if q is not None:
                y = (y.astype(np.float32) - q[1]) * q[0]
            results.append(np.asarray(y, dtype=np.float32))
        return results
