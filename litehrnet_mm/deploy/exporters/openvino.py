"""OpenVINO artifacts: IR (``.xml`` with its ``.bin``) at fp32, bf16 or
int8.

The IR's weights stay f32 in the file; what the CPU computes in is the
runtime's ``INFERENCE_PRECISION_HINT``, which the artifact's metadata names
(``inference_precision``) and :func:`~litehrnet_mm.deploy.load_runtime`
passes on:

* fp32: ``f32`` (OpenVINO's default on CPUs with bf16 would be bf16);
* bf16: ``bf16``, on CPUs that have it (AVX512_BF16 or AMX); elsewhere
  OpenVINO computes in f32 (the compiled model reports the precision it
  chose);
* int8: NNCF's quantization with Lite-HRNet's design
  (:mod:`litehrnet_mm.deploy.quantize`), the ops left unquantized in
  ``f32``, so that the int8 artifact computes what was calibrated and
  measured.

The channel shuffles are traced as 1x1 convs with a permutation matrix
(:func:`~litehrnet_mm.deploy.ops.shuffles_as_convs`): OpenVINO's own
ShuffleChannels took a third of the network's time.
"""

import os

from .base import ExportJob, register_exporter

#: Our precision -> OpenVINO's inference precision hint.
HINTS = {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}


@register_exporter('openvino', tuple(HINTS))
def export_openvino(job: ExportJob) -> dict:
    import openvino as ov

    # OpenVINO runs Lite-HRNet's channel shuffles far faster as convs.
    onnx = job.onnx(shuffles_as_convs=True)
    if job.precision == 'int8':
        from ..quantize import quantize_openvino

        quantize_openvino(
            onnx,
            job.calib,
            job.output,
            batch=job.batch,
            keep_fp32=job.keep_fp32,
        )
    else:
        model = ov.convert_model(onnx)
        ov.save_model(model, job.output, compress_to_fp16=False)
    if not os.path.isfile(os.path.splitext(job.output)[0] + '.bin'):
        raise RuntimeError(f'openvino: {job.output} was written without .bin')
    return {'inference_precision': HINTS[job.precision]}
