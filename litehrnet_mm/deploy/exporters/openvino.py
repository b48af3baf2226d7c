"""OpenVINO artifacts: IR (``.xml`` with its ``.bin``)."""

from .base import ExportJob, register_exporter


@register_exporter('openvino', ('fp32',))
def export_openvino(job: ExportJob) -> dict:
    import openvino as ov

    model = ov.convert_model(job.onnx())
    # Weights stay f32 in the file: the runtime's precision decides.
    ov.save_model(model, job.output, compress_to_fp16=False)
    return {'inference_precision': 'f32'}
