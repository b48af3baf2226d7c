"""OpenVINO artifacts: IR (``.xml`` with its ``.bin``) at fp32, bf16 or
int8.

The IR's weights stay f32 in the file; what the CPU computes in is the
runtime's ``INFERENCE_PRECISION_HINT``, which the artifact's metadata names
(``inference_precision``, which :func:`~litehrnet_mm.deploy.load_runtime`
passes on) and the IR too (its ``rt_info``'s ``runtime_options``:
:func:`~litehrnet_mm.deploy.artifact.save_ir`), for a reader of the
``.xml`` without its metadata file (OpenVINO's CPU plugin itself does not
apply it: its default on CPUs with bf16 is bf16, so other applications
pass the hint in their config):

* fp32: ``f32`` (OpenVINO's default on CPUs with bf16 would be bf16);
* bf16: ``bf16``, on CPUs that have it (AVX512_BF16 or AMX); elsewhere
  OpenVINO computes in f32 (the compiled model reports the precision it
  chose);
* int8: NNCF's quantization with every conv in int8, activations
  asymmetric, the sums left in fp32, and for pose everything between the
  convs (the weightings' multiplies, pools and resizes) too
  (:data:`~litehrnet_mm.deploy.quantize.OPENVINO_INT8`, chosen on the
  trained demo models; a peer of the benchmark gets NNCF's defaults),
  the ops left unquantized in ``f32``, so that the int8 artifact
  computes what was calibrated and measured. With ``max_drop``
  (``export.py --max-drop``) NNCF's accuracy control returns quantizers
  to fp32 until int8 loses at most that much
  of the host's metric on the training split
  (:mod:`~litehrnet_mm.deploy.accuracy_control`). ONNX Runtime's int8
  design of :mod:`litehrnet_mm.deploy.quantize` (depthwise and pooled
  convs kept in fp32) is for the graph with splits, concatenations and
  shuffles; in OpenVINO's form, which has none, each conv kept in fp32
  only adds reorders at its boundaries (886 executed layers against 565,
  1.8x the summed layer time, on a VNNI CPU).

The graph is OpenVINO's form of the network (``ExportJob.onnx(openvino=
True)``): each LITE stage runs with no split, concatenation or shuffle
inside, the channel orders its shuffles leave absorbed into the weights
of the layers that read them (:mod:`~litehrnet_mm.deploy.deferred`; a
permutation, traced as a 1x1 conv with a permutation matrix, is left only
on a returned branch in another order); the global means are fixed-kernel
pools
(:func:`~litehrnet_mm.deploy.ops.openvino_form`). OpenVINO's own
ShuffleChannels took a third of the network's time, and its channel splits
and concatenations run on reference kernels in the channels-last layout it
picks.
"""

import os

from ..artifact import save_ir
from .base import ExportJob, register_exporter

#: Our precision -> OpenVINO's inference precision hint.
HINTS = {'fp32': 'f32', 'bf16': 'bf16', 'int8': 'f32'}


def int8_options(job: ExportJob) -> dict:
    """NNCF's options for Lite-HRNet's int8 of ``job``'s task (those of no
    task for a task they do not name)."""
    from ..quantize import OPENVINO_INT8

    return OPENVINO_INT8.get(job.task, OPENVINO_INT8[None])


@register_exporter('openvino')
def export_openvino(job: ExportJob) -> dict:
    import openvino as ov

    onnx = job.onnx(openvino=True)
    if job.precision == 'int8':
        from ..quantize import quantize_openvino

        quantize_openvino(
            onnx,
            job.calib,
            job.output,
            batch=job.batch,
            keep_fp32=[],  # every conv: see the module docstring
            validation=job.validation,
            max_drop=job.max_drop,
            **(int8_options(job) if job.int8_design else {}),
        )
    else:
        save_ir(ov.convert_model(onnx), job.output, HINTS[job.precision])
    if not os.path.isfile(os.path.splitext(job.output)[0] + '.bin'):
        raise RuntimeError(f'openvino: {job.output} was written without .bin')
    return {'inference_precision': HINTS[job.precision]}
