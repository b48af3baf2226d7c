"""ncnn (the runtime of pnnx's ``.param`` + ``.bin``), on the CPU.

ncnn has no batch axis: a batch runs one image at a time. Its options
default to fp16 storage and arithmetic where the CPU has them, which moves
Lite-HRNet's outputs by about 7e-2: fp32 turns every fp16 and bf16 option
off, fp16 turns the fp16 ones on. Its OpenMP threads spin for 20 ms after
each layer by default, which starves everything else on a busy CPU (2-thread
blocks reached 0.5-1 s there): they are told not to (blocktime 0), and the
thread count is set explicitly.
"""

from typing import Iterator, List, Optional, Tuple

import numpy as np

from litehrnet_mm.errors import LiteHRNetError

from ..artifact import metadata_file, read_metadata
from .base import Runtime, register_runtime


def ncnn_files(param: str) -> tuple:
    """``(param, bin)`` of an ncnn model named by its ``.param`` file."""
    if not param.endswith('.param'):
        raise LiteHRNetError(
            f'ncnn: {param} is not an ncnn model; expected the .param file '
            '(its weights lie beside it in the .bin of the same name)'
        )
    return param, param[: -len('.param')] + '.bin'


def param_layers(param: str) -> Iterator[Tuple[str, list, list, list]]:
    """The layer lines of a ``.param`` file as ``(type, bottoms, tops,
    params)`` (``params`` the ``key=value`` fields); a line that is not a
    layer's is skipped (ncnn itself judges a broken file when it loads
    it)."""
    with open(param) as f:
        lines = f.read().split('\n')[2:]
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or not (fields[2] + fields[3]).isdigit():
            continue
        bottoms, tops = int(fields[2]), int(fields[3])
        yield (
            fields[0],
            fields[4 : 4 + bottoms],
            fields[4 + bottoms : 4 + bottoms + tops],
            fields[4 + bottoms + tops :],
        )


def ncnn_output_names(param: str) -> List[str]:
    """The blobs no layer reads, in pnnx's order (``out0``, ``out1``, ...:
    the order of the model's outputs)."""
    produced, consumed = [], set()
    for _, bottoms, tops, _ in param_layers(param):
        consumed.update(bottoms)
        produced.extend(tops)
    outputs = [b for b in produced if b not in consumed]
    return sorted(outputs, key=lambda b: (len(b), b))


def has_int8_layers(param: str) -> bool:
    """Whether a conv of the ``.param`` file is int8 (``8=1``, its
    ``int8_scale_term``: what ``export.py --precision int8`` writes)."""
    return any(
        kind in ('Convolution', 'ConvolutionDepthWise')
        and any(p.startswith('8=') and p != '8=0' for p in params)
        for kind, _, _, params in param_layers(param)
    )


@register_runtime('ncnn')
class NcnnRuntime(Runtime):
    """An ncnn ``.param``/``.bin`` pair; ``precision`` ``'fp32'``,
    ``'fp16'`` (fp16 storage and, where the CPU has it, arithmetic) or
    ``'int8'`` (the int8 layers of an int8 model; the rest in fp32)."""

    name = 'ncnn'
    suffixes = ('.param',)
    precisions = ('fp32', 'fp16', 'int8')
    companions = {'.param': ('.bin',)}
    any_batch = True  # image by image

    def __init__(
        self,
        file: str,
        threads: Optional[int] = None,
        precision: str = 'fp32',
        **options,
    ) -> None:
        param, weights = ncnn_files(file)
        super().__init__(param, threads, **options)
        if precision != 'int8' and has_int8_layers(param):
            # Run without int8 inference, ncnn crashes the process on
            # them (a segmentation fault at the first call).
            raise LiteHRNetError(
                f'ncnn: {param} holds int8 layers but would run in '
                f'{precision} (ncnn crashes on them then); expected '
                f"precision 'int8', as the metadata export.py writes beside "
                f'it ({metadata_file(param)}) says'
            )
        self.precision = precision
        import ncnn

        self._ncnn = ncnn
        net = ncnn.Net()
        opt = net.opt
        fp16 = precision == 'fp16'
        for option in ('storage', 'packed', 'arithmetic'):
            setattr(opt, f'use_fp16_{option}', fp16)
        opt.use_bf16_storage = False
        opt.use_bf16_packed = False
        opt.use_int8_inference = precision == 'int8'
        opt.use_vulkan_compute = False
        opt.num_threads = threads or ncnn.get_physical_big_cpu_count()
        opt.openmp_blocktime = 0
        if net.load_param(param) != 0 or net.load_model(weights) != 0:
            raise LiteHRNetError(
                f'ncnn: could not load {param} with {weights}; expected a '
                'model written by tools/deploy/export.py --runtime ncnn'
            )
        self.net = net
        self._input = net.input_names()[0]
        self._outputs = ncnn_output_names(param)

    @property
    def input_shape(self) -> tuple:
        """The static shape the artifact was exported for (its metadata):
        ncnn's graph has none, and runs any batch image by image."""
        shape = self.expected_shape()
        if shape is None:
            raise LiteHRNetError(
                f'ncnn: {self.file} has no input_shape in its metadata '
                f'({self.file}.json); expected a model written by '
                'tools/deploy/export.py'
            )
        return shape

    def expected_shape(self) -> Optional[tuple]:
        # Before its metadata is written (export's check), none is known.
        shape = read_metadata(self.file).get('input_shape')
        return tuple(shape) if shape else None

    def extract(self, image: np.ndarray, blobs: List[str]) -> List[np.ndarray]:
        """The blobs named ``blobs`` for one (3, H, W) image, in the order
        the model makes them (ncnn frees a blob once its readers have run:
        asking for it after that crashes)."""
        image = np.ascontiguousarray(image, dtype=np.float32)
        with self.net.create_extractor() as ex:
            ex.input(self._input, self._ncnn.Mat(image))
            return [np.array(ex.extract(b)[1]) for b in blobs]

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        per_image = [self.extract(x, self._outputs) for x in images]
        return [
            np.stack([outs[i] for outs in per_image]).astype(np.float32)
            for i in range(len(self._outputs))
        ]
