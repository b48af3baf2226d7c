"""ExecuTorch, XNNPACK-delegated: fp32, and int8 by PT2E static
quantization (per-channel int8 weights, per-tensor int8 activations)
calibrated on the job's images: of the convs of Lite-HRNet's int8 design
alone (``job.int8_design``; every other op stays float), or of the whole
graph with XNNPACKQuantizer (the benchmark's peers).

The conversion runs in the converters venv (see :mod:`.converter_venv`)
on a ``torch.export`` program of the model. What XNNPACK does not take
runs on ExecuTorch's portable kernels; the exporter reports those ops
(``not_delegated`` in the metadata) and the number of XNNPACK partitions.
"""

from .base import ExportJob, register_exporter
from .converter_venv import convert_in_venv


@register_exporter('executorch')
def export_executorch(job: ExportJob) -> dict:
    """``job.output`` (a ``.pte``)."""
    return convert_in_venv(job, 'executorch')
