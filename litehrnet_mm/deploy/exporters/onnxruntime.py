"""ONNX Runtime artifacts: the static ONNX graph (fp32), or its static int8
quantization in QDQ form (int8: uint8 activations, int8 weights per output
channel, Lite-HRNet's choice of convs kept in fp32 and the other convs
alone quantized, see :mod:`litehrnet_mm.deploy.quantize`)."""

import shutil

from .base import ExportJob, register_exporter


@register_exporter('onnxruntime')
def export_onnxruntime(job: ExportJob) -> dict:
    if job.precision == 'int8':
        from ..quantize import quantize_onnxruntime

        quantize_onnxruntime(
            job.onnx(),
            job.calib,
            job.output,
            batch=job.batch,
            keep_fp32=job.keep_fp32,
            # The design quantizes the convs alone (the peers: every op).
            op_types=('Conv',) if job.int8_design else None,
        )
    else:
        shutil.copyfile(job.onnx(), job.output)
    return {}
