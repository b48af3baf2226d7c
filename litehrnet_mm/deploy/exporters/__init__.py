"""One exporter per runtime, each in its own file; importing this package
registers them (their libraries are imported only when they run)."""

from . import (  # noqa: F401  (they register)
    executorch,
    litert,
    ncnn,
    onnxruntime,
    openvino,
)
from .base import EXPORTERS, PRECISIONS, ExportJob, register_exporter

__all__ = ['EXPORTERS', 'PRECISIONS', 'ExportJob', 'register_exporter']
