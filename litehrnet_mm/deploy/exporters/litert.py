"""LiteRT: a ``.tflite`` flatbuffer from litert-torch, builtin ops only (no
TensorFlow ops): fp32; fp16 (float16 weights); int8 (ai-edge-quantizer's
static int8, calibrated on the job's images).

The conversion runs in the converters venv (see :mod:`.converter_venv`);
the exporter reports the graph's ops (``ops`` in the metadata).
"""

from .base import ExportJob, register_exporter
from .converter_venv import convert_in_venv


@register_exporter('litert')
def export_litert(job: ExportJob) -> dict:
    """``job.output`` (a ``.tflite``)."""
    return convert_in_venv(job, 'litert')
