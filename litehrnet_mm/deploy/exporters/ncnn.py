"""ncnn: the static fp32 ONNX graph converted by pnnx.

pnnx ships as a standalone binary in its wheel (installed without its
declared torch dependency, which it never uses). It writes the ``.param``
(graph) and ``.bin`` (weights) pair; ``fp16=0`` keeps the weights in fp32
(fp16 stores them in float16). The intermediate files pnnx also writes go
to the job's work dir. int8 quantizes the fp32 model's convs, calibrated on
the job's images, those of Lite-HRNet's int8 design (``job.int8_design``:
not the depthwise convs, the first conv and the convs on pooled maps) or
every one (:mod:`.ncnn_int8`).
"""

import os
import subprocess

from ..onnx import write_onnx
from ..runtimes.ncnn import NcnnRuntime, ncnn_files
from .base import ExportJob, register_exporter
from .ncnn_int8 import (
    calibration_ranges,
    fp32_layers,
    quantize_ncnn,
    read_param,
)


def pnnx_executable() -> str:
    """The pnnx binary of the ``pnnx`` wheel."""
    import pnnx

    return pnnx.EXEC_PATH


@register_exporter('ncnn')
def export_ncnn(job: ExportJob) -> dict:
    """``job.output`` (a ``.param``) and its ``.bin``, from the job's ONNX
    graph."""
    param, weights = ncnn_files(job.output)
    if job.precision == 'int8':
        if not job.calib:
            raise ValueError(
                'ncnn int8 needs calibration images (ExportJob.calib: a '
                'list of (1, 3, H, W) float32 arrays)'
            )
        fp32 = os.path.join(job.work_dir, 'fp32.param')
        pnnx_convert(job, fp32, fp16=False)
        ranges = calibration_ranges(
            NcnnRuntime(fp32, threads=1), job.calib, fp32
        )
        keep = fp32_layers(read_param(fp32)[1]) if job.int8_design else []
        quantized = quantize_ncnn(
            fp32, ncnn_files(fp32)[1], ranges, param, weights, keep
        )
        return _options(job, param, quantized=quantized)
    pnnx_convert(job, param, fp16=job.precision == 'fp16')
    return _options(job, param)


def _options(job: ExportJob, param: str, **more) -> dict:
    """What the runtime needs (the precision), and the two files."""
    files = [os.path.basename(f) for f in ncnn_files(param)]
    return dict(precision=job.precision, files=files, **more)


def pnnx_convert(job: ExportJob, param: str, fp16: bool) -> None:
    """pnnx on the job's ONNX graph, writing ``param`` and its ``.bin``.
    pnnx runs in the job's work folder (its intermediate files stay
    there), so the paths it is given are absolute: a relative ``param``
    would land in that folder and go with it."""
    param = os.path.abspath(param)
    weights = ncnn_files(param)[1]
    height, width = job.shape
    onnx_file = job.onnx()
    if job.batch != 1:
        # ncnn has no batch axis (its runtime runs a batch image by image):
        # pnnx gets the graph of one image.
        onnx_file = os.path.join(job.work_dir, 'batch1.onnx')
        write_onnx(job.model, job.shape, onnx_file, batch=1)
    onnx_file = os.path.abspath(onnx_file)
    work = os.path.join(os.path.abspath(job.work_dir), 'pnnx')
    command = [
        pnnx_executable(),
        onnx_file,
        f'inputshape=[1,3,{height},{width}]',
        f'fp16={int(fp16)}',
        f'ncnnparam={param}',
        f'ncnnbin={weights}',
        f'pnnxparam={work}.pnnx.param',
        f'pnnxbin={work}.pnnx.bin',
        f'pnnxpy={work}_pnnx.py',
        f'pnnxonnx={work}.pnnx.onnx',
        f'ncnnpy={work}_ncnn.py',
    ]
    proc = subprocess.run(
        command,
        cwd=job.work_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.returncode != 0:
        tail = '\n'.join(proc.stdout.splitlines()[-20:])
        raise RuntimeError(f'pnnx failed (exit {proc.returncode}):\n{tail}')
