"""One exporter per runtime, each in its own file; importing this package
registers them (their libraries are imported only when they run)."""

from . import onnxruntime, openvino  # noqa: F401  (they register)
from .base import EXPORTERS, PRECISIONS, ExportJob, register_exporter

__all__ = ['EXPORTERS', 'PRECISIONS', 'ExportJob', 'register_exporter']
