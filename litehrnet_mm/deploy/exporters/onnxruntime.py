"""ONNX Runtime artifacts: the static ONNX graph."""

import shutil

from .base import ExportJob, register_exporter


@register_exporter('onnxruntime', ('fp32',))
def export_onnxruntime(job: ExportJob) -> dict:
    shutil.copyfile(job.onnx(), job.output)
    return {}
