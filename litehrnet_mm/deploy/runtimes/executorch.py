"""ExecuTorch (a ``.pte`` program, XNNPACK-delegated), on the CPU.

The ExecuTorch runtime ships in the ``executorch`` package, which needs
numpy 2 to install and so lives in the converters venv (``make
install-converters``); its runtime runs with numpy 1 as well, so when
``executorch`` is not importable here it is imported from that venv's
site-packages, put last on the path (nothing of this venv is shadowed).
XNNPACK's thread pool is one per process: ``threads`` resets it.
"""

import sys
import warnings
from typing import List, Optional

import numpy as np

from litehrnet_mm.errors import LiteHRNetError

from .base import Runtime, register_runtime


def import_executorch_runtime():
    """``executorch.runtime``, from this venv or the converters venv."""
    try:
        import executorch.runtime as runtime

        return runtime
    except ImportError:
        pass
    from litehrnet_mm.deploy.exporters.converter_venv import (
        converters_site_packages,
    )

    site = converters_site_packages()
    if site is None:
        raise LiteHRNetError(
            'executorch: the ExecuTorch runtime is not installed; run '
            '`make install-converters` (it installs executorch in '
            '.venv-converters)'
        )
    if site not in sys.path:
        sys.path.append(site)
    import executorch.runtime as runtime

    return runtime


@register_runtime('executorch')
class ExecuTorchRuntime(Runtime):
    """A ``.pte`` program: fp32, or int8 (PT2E-quantized for XNNPACK)."""

    name = 'executorch'
    suffixes = ('.pte',)
    precisions = ('fp32', 'int8')
    dynamic_batch = False  # a static torch.export program

    def __init__(
        self,
        file: str,
        threads: Optional[int] = None,
        precision: str = 'fp32',
        **options,
    ) -> None:
        super().__init__(file, threads, **options)
        self.precision = precision
        import torch

        self._torch = torch
        # ExecuTorch's warnings can be of classes defined in a package that
        # only this process has on its path (it comes from the converters'
        # venv): a process they are reported to, such as pytest-xdist's
        # controller, cannot unpickle them and dies.
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            runtime = import_executorch_runtime()
            if threads is not None:
                from executorch.extension.pybindings import portable_lib

                portable_lib._unsafe_reset_threadpool(int(threads))
            program = runtime.Runtime.get().load_program(file)
            self.method = program.load_method('forward')
        meta = self.method.metadata.input_tensor_meta(0)
        self._shape = tuple(int(d) for d in meta.sizes())

    @property
    def input_shape(self) -> tuple:
        return self._shape

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        x = self._torch.from_numpy(
            np.ascontiguousarray(images, dtype=np.float32)
        )
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            outputs = self.method.execute([x])
        return [np.asarray(o.numpy(), dtype=np.float32) for o in outputs]
