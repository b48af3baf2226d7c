"""Running an exported model: every runtime behind one call.

``load_runtime(file)`` compiles any artifact that ``tools/deploy/export.py``
wrote, with the runtime and the options its metadata names; each runtime
takes float32 (N, 3, H, W) numpy images and returns a list of numpy
outputs, so the inference tool, the benchmark and the tests treat them
alike. One file per runtime; each imports its library only when a model
is loaded.
"""

import os
from typing import Optional

from ..artifact import read_metadata
from . import (  # noqa: F401  (they register)
    executorch,
    litert,
    ncnn,
    onnxruntime,
    openvino,
)
from .base import RUNTIMES, Runtime, register_runtime
from .onnxruntime import OrtRuntime
from .openvino import OpenVINORuntime

__all__ = [
    'RUNTIMES',
    'OpenVINORuntime',
    'OrtRuntime',
    'Runtime',
    'load_runtime',
    'register_runtime',
]

#: The runtime of a file without metadata, by its suffix.
_BY_SUFFIX = {'.onnx': 'onnxruntime', '.xml': 'openvino'}


def load_runtime(
    file: str, runtime: Optional[str] = None, threads: Optional[int] = None
) -> Runtime:
    """The artifact ``file`` compiled by ``runtime``.

    Args:
        file (str): An artifact of ``tools/deploy/export.py`` (or a plain
            ``.onnx`` / OpenVINO ``.xml`` file).
        runtime (str, optional): A name in :data:`RUNTIMES`. Defaults to
            the runtime the artifact was exported for, else the one its
            suffix implies. A runtime other than the artifact's (e.g.
            OpenVINO on an ``.onnx`` file) runs it with that runtime's
            defaults.
        threads (int, optional): Compute threads.
    """
    meta = read_metadata(file) if os.path.isfile(file) else {}
    made_for = meta.get('runtime') or _BY_SUFFIX.get(
        os.path.splitext(file)[1].lower()
    )
    runtime = runtime or made_for
    if runtime is None and not os.path.isfile(file):
        # Nothing names its runtime because it is not there (its metadata
        # may be, beside it): say so, not that the runtime is unknown.
        raise FileNotFoundError(
            f'load_runtime: {file} not found; expected an artifact written '
            'by tools/deploy/export.py'
        )
    if runtime not in RUNTIMES:
        raise ValueError(
            f'runtime={runtime!r} for {file}; expected one of '
            f'{", ".join(sorted(RUNTIMES))}'
        )
    options = meta.get('runtime_options', {}) if runtime == made_for else {}
    return RUNTIMES[runtime](file, threads, **options)
