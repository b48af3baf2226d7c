"""int8 for Lite-HRNet: what is quantized, and how it is calibrated.

The design below is for the graph the ONNX-based runtimes get (ONNX
Runtime's int8 uses it); ncnn's and LiteRT's int8 keep the same convs in
fp32 in their own graphs, where only the other convs read int8 and every
other op stays fp32 (ncnn: ``exporters.ncnn_int8.fp32_layers``; LiteRT and
ExecuTorch: ``exporters.convert_in_venv.design_fp32``, and for ExecuTorch
``design_convs``).
OpenVINO's int8 quantizes its own form of the network, which has no
split, concatenation or shuffle inside a stage
(:mod:`litehrnet_mm.deploy.deferred`), over the whole graph: there a conv
kept in fp32 only adds reorders at its boundaries
(:mod:`litehrnet_mm.deploy.exporters.openvino`).

A quantizer run over the fp32 graph wraps every op in a quantize and a
dequantize. Lite-HRNet's time goes to depthwise convs and data movement
(split, concat, shuffle, pooling, nearest resize, the weighting
multiplies), not to the dense 1x1 convs that int8 speeds up, so the design
quantizes the dense convs and the precision-preserving ops between them,
and keeps in fp32 the convs where int8 buys nothing and costs
conversions (:func:`fp32_convs`):

* the depthwise convs: on CPUs without VNNI, OpenVINO's CPU plugin runs
  them in f32 whatever the quantizer does (NNCF gives their inputs
  per-channel activation scales), so a FakeQuantize before them only adds
  a quantize-dequantize and a layout reorder: on Lite-HRNet-18 at 256x192
  the runtime graph of NNCF's default int8 holds 579 Reorder nodes, with
  the depthwise convs kept in fp32 219. On CPUs with AVX-512 VNNI they do
  run in int8 (``brgconv_avx512_dw_I8``), and keeping them in fp32 costs
  236 reorders against NNCF's default 10: there the default was 3% faster
  (16.1 against 16.6 ms, batch 1, 2 threads; f32 18.0), and neither
  pays (the README's reduced-precision section);
* the first conv (3 input channels): int8 kernels gain nothing on so few
  input channels and it quantizes the raw image;
* the 1x1 convs of the cross-resolution and spatial weightings: they run
  on pooled maps (the smallest branch's size, or 1x1), so they cost
  nothing in fp32, and their sigmoid outputs scale every channel of a
  branch (the most sensitive values of the block).

OpenVINO's int8 (:data:`OPENVINO_INT8`) quantizes every conv of its form,
with choices made for accuracy (and, among those that keep it, speed),
measured on the trained demo models
through the hosts' test loops (AP of the pose demo, mIoU of the seg
demo, each on its held-out images and on its training split, where they
were chosen; the README has the table):

* activations asymmetric (NNCF's ``mixed`` preset): the depthwise convs
  and the fusion terms have no ReLU after them, so many activations are
  skewed signed ranges that a symmetric int8 grid covers with half its
  levels; this halved the loss (pose -0.030 -> -0.014 AP);
* the sums in fp32 (``Add`` left out): a fusion output (its own branch
  plus up to three resized or strided terms) and the iterative head's
  sums are where a per-tensor grid is widest; quantizing them cost
  another 0.004 AP and 0.2 mIoU;
* for pose, only the convs read int8: the weightings' multiplies, pools
  and nearest resizes stay fp32 too (``Multiply``, ``AvgPool`` and
  ``Interpolate`` left out), so each int8 region is one conv, quantized
  where it reads its input (after the weighting, not before it) and
  dequantized in its output. Pose AP measures the heatmap peak's
  position to a fraction of a pixel, and the multiplies are where int8
  moved it most: NNCF's accuracy control, ranking every quantizer by how
  far it moves the heatmaps, returned a group with a weighting's
  multiply first and second. On the pose demo this loses 0.0038 AP on
  its training split and 0.0008-0.0042 on its held-out images over 150,
  300 and 600 calibration images (the sums only in fp32: 0.0085 and
  0.0096-0.0118). It is also the fastest int8 of those measured on an
  AVX2 CPU: the pools, resizes and multiplies run slower in u8 or i8
  than in f32 there, and each multiply left in fp32 alone adds a
  requantizing layer (the README has the per-layer profiles).
  Segmentation lost more with it (1.12 mIoU on its held-out images,
  0.98 on its training split; 0.59 and 0.77 with the sums only in fp32),
  so it keeps the sums-only options.

Calibration uses the images as the model sees them (after the config's
test pipeline and data preprocessor), in a fixed order, so the same
images give the same artifact.
"""

import copy
import logging
import os
import re
from typing import List, Optional, Sequence

import numpy as np
import torch

__all__ = [
    'OPENVINO_INT8',
    'build_runner',
    'calibration_batches',
    'calibration_inputs',
    'fp32_convs',
    'quantize_onnxruntime',
    'quantize_openvino',
    'training_split_loader',
]

#: Module names (parts of ONNX node names) of the deploy form's convs on
#: pooled maps (:class:`~litehrnet_mm.deploy.blocks.DeployCCW`).
POOLED_CONVS = ('/crw/', '/spatial_weighting/')

#: NNCF's options for OpenVINO's int8 of Lite-HRNet (its form of the
#: network, quantized whole), by task, both with asymmetric activations:
#: for pose only the convs read int8 (the weightings' multiplies, pools and
#: resizes and the sums stay fp32); for segmentation everything but the
#: sums does (the module docstring says why). A model of another task gets
#: ``None``'s; a peer of the benchmark gets NNCF's defaults.
_SUMS_FP32 = dict(preset='mixed', keep_fp32_types=('Add',))
_CONVS_INT8 = dict(
    preset='mixed',
    # MatMul: pooling to a size that does not divide (deploy/ops.py).
    keep_fp32_types=('Add', 'Multiply', 'AvgPool', 'MatMul', 'Interpolate'),
)
OPENVINO_INT8 = {'pose': _CONVS_INT8, 'seg': _SUMS_FP32, None: _SUMS_FP32}

#: Accuracy control ranks the groups of quantizers by how far each moves
#: the outputs of this many validation images (NNCF's default: 300).
RANKING_IMAGES = 100


def fp32_convs(onnx_file: str) -> List[str]:
    """Names of the Conv nodes of ``onnx_file`` that int8 keeps in fp32:
    the depthwise convs, the convs on the graph input and the convs on
    pooled maps (see the module docstring for why)."""
    import onnx

    graph = onnx.load(onnx_file, load_external_data=False).graph
    inputs = {i.name for i in graph.input}
    weights = {t.name: t for t in graph.initializer}
    keep = []
    for node in graph.node:
        if node.op_type != 'Conv':
            continue
        groups = next((a.i for a in node.attribute if a.name == 'group'), 1)
        weight = weights.get(node.input[1])
        depthwise = groups > 1 and weight is not None and weight.dims[1] == 1
        if (
            depthwise
            or node.input[0] in inputs
            or any(p in node.name for p in POOLED_CONVS)
        ):
            keep.append(node.name)
    return keep


def calibration_batches(
    images: Sequence[np.ndarray], batch: int
) -> List[np.ndarray]:
    """``images`` (each (1, 3, H, W)) as consecutive batches of ``batch``
    (a static graph takes only its own batch size); a remainder is
    dropped."""
    if len(images) < batch:
        raise ValueError(
            f'int8: {len(images)} calibration images for a batch of '
            f'{batch}; expected at least {batch}'
        )
    return [
        np.concatenate(images[i : i + batch]).astype(np.float32)
        for i in range(0, len(images) - batch + 1, batch)
    ]


def quantize_openvino(
    onnx_file: str,
    images: Sequence[np.ndarray],
    output: str,
    batch: int = 1,
    keep_fp32: Optional[Sequence[str]] = None,
    fast_bias_correction: bool = True,
    preset: str = 'performance',
    keep_fp32_types: Sequence[str] = (),
    validation=None,
    max_drop: Optional[float] = None,
) -> str:
    """NNCF's post-training int8 of ``onnx_file`` for OpenVINO, calibrated
    on ``images``, with the convs ``keep_fp32`` (default
    :func:`fp32_convs`) and the OpenVINO op types ``keep_fp32_types``
    left in fp32; writes the IR ``output`` (.xml and its .bin) and
    returns it.

    Weights are quantized per output channel, activations per tensor:
    symmetric with ``preset='performance'`` (NNCF's default for the CPU),
    asymmetric with ``'mixed'``.

    With ``max_drop``, NNCF's accuracy control measures ``validation``
    (a :class:`~litehrnet_mm.deploy.accuracy_control.HostMetric`) and
    returns to fp32 the quantizers that cost it most until int8 loses at
    most ``max_drop`` (:mod:`litehrnet_mm.deploy.accuracy_control`).
    """
    import nncf
    import openvino as ov

    presets = {
        'performance': nncf.QuantizationPreset.PERFORMANCE,
        'mixed': nncf.QuantizationPreset.MIXED,
    }
    if preset not in presets:
        raise ValueError(
            f'quantize_openvino: preset={preset!r}; expected one of '
            f'{sorted(presets)}'
        )
    if keep_fp32 is None:
        keep_fp32 = fp32_convs(onnx_file)
    model = ov.convert_model(onnx_file)
    samples = calibration_batches(images, batch)
    # OpenVINO names a conv with a bias '<onnx name>/WithoutBiases' and
    # its bias add '<onnx name>'.
    patterns = [re.escape(n) + '(/WithoutBiases)?' for n in keep_fp32]
    options = dict(
        preset=presets[preset],
        subset_size=len(samples),
        fast_bias_correction=fast_bias_correction,
        ignored_scope=nncf.IgnoredScope(
            patterns=patterns, types=list(keep_fp32_types), validate=False
        ),
    )
    if max_drop is None:
        from nncf.common.logging.logger import nncf_logger

        # Its INFO lines name each layer the ignored scope leaves out
        # (hundreds); warnings still show.
        level = nncf_logger.level
        nncf_logger.setLevel(logging.WARNING)
        try:
            quantized = nncf.quantize(model, nncf.Dataset(samples), **options)
        finally:
            nncf_logger.setLevel(level)
    else:
        from nncf.quantization.advanced_parameters import (
            AdvancedAccuracyRestorerParameters,
        )

        if validation is None:
            raise ValueError(
                'quantize_openvino: max_drop needs validation (a '
                'HostMetric of the training split)'
            )
        quantized = nncf.quantize_with_accuracy_control(
            model,
            nncf.Dataset(samples),
            nncf.Dataset(validation.items, validation.inputs),
            validation,
            max_drop=max_drop,
            advanced_accuracy_restorer_parameters=(
                AdvancedAccuracyRestorerParameters(
                    ranking_subset_size=min(
                        RANKING_IMAGES, len(validation.items)
                    )
                )
            ),
            **options,
        )
    from .artifact import save_ir

    # What it leaves unquantized computes in f32, as it was calibrated.
    save_ir(quantized, output, 'f32')
    return output


class _Reader:
    """ONNX Runtime's calibration data reader over fixed batches."""

    def __init__(self, name: str, samples: List[np.ndarray]) -> None:
        self.name = name
        self.samples = iter(samples)

    def get_next(self):
        sample = next(self.samples, None)
        return None if sample is None else {self.name: sample}


def quantize_onnxruntime(
    onnx_file: str,
    images: Sequence[np.ndarray],
    output: str,
    batch: int = 1,
    keep_fp32: Optional[Sequence[str]] = None,
    op_types: Optional[Sequence[str]] = None,
) -> str:
    """ONNX Runtime's static int8 (QDQ, uint8 activations, int8 weights
    per output channel, min-max calibration) of ``onnx_file``, calibrated
    on ``images``, the convs ``keep_fp32`` (default :func:`fp32_convs`)
    left in fp32, and of the ops only those of ``op_types`` quantized
    (default: every type ONNX Runtime quantizes; Lite-HRNet's design passes
    ``('Conv',)``: a quantized multiply before a depthwise conv kept in
    fp32 would still hand it an input of one scale for all channels);
    writes ``output`` and returns it."""
    import onnx
    from onnxruntime import quantization as q

    if keep_fp32 is None:
        keep_fp32 = fp32_convs(onnx_file)
    name = onnx.load(onnx_file, load_external_data=False).graph.input[0].name
    # ONNX Runtime's pre-processing (shape inference; its graph
    # optimisation is skipped, as it would rename the nodes kept in fp32).
    inferred = os.path.splitext(output)[0] + '.shapes.onnx'
    q.quant_pre_process(onnx_file, inferred, skip_optimization=True)
    try:
        _quantize_static(
            q, inferred, output, name, images, batch, keep_fp32, op_types
        )
    finally:
        os.remove(inferred)
    return output


def _quantize_static(
    q, model, output, name, images, batch, keep_fp32, op_types
):
    q.quantize_static(
        model,
        output,
        _Reader(name, calibration_batches(images, batch)),
        quant_format=q.QuantFormat.QDQ,
        per_channel=True,
        activation_type=q.QuantType.QUInt8,
        weight_type=q.QuantType.QInt8,
        calibrate_method=q.CalibrationMethod.MinMax,
        nodes_to_exclude=list(keep_fp32),
        op_types_to_quantize=list(op_types) if op_types else None,
    )


def build_runner(cfg, checkpoint: Optional[str], work_dir: str):
    """The host's runner for ``cfg`` with ``checkpoint`` loaded (None:
    the config's own initialisation), ready for ``runner.test_loop``.

    Each call gets a visualizer and a logger of its own: mmengine keeps
    them as global instances by name, and the hosts' configs name their
    visualizer ``'visualizer'``, so a second runner in the same process
    would get the first one's, which saves into the first ``work_dir``
    (gone when that was a temporary folder)."""
    import uuid

    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    cfg.load_from = checkpoint
    cfg.work_dir = work_dir
    cfg.resume = False
    stem = os.path.splitext(os.path.basename(cfg.filename or 'runner'))[0]
    name = f'{cfg.get("experiment_name") or stem}_{uuid.uuid4().hex[:8]}'
    cfg.experiment_name = name  # the logger's and message hub's name
    visualizer = cfg.get('visualizer') or dict(
        type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]
    )
    cfg.visualizer = dict(visualizer, name=name)
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    # What runner.test() does before its loop (the logger hook needs it).
    runner.call_hook('before_run')
    runner.model.eval()
    return runner


def training_split_loader(cfg, batch_size: Optional[int] = None) -> dict:
    """The dataloader config of ``cfg``'s training split read by its test
    pipeline: no augmentation, no shuffling (the same images in the same
    order every time), no detection boxes (the split's own)."""
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    train = cfg.train_dataloader.dataset
    for key in ('ann_file', 'data_prefix', 'data_root'):
        if key in train:
            loader_cfg.dataset[key] = copy.deepcopy(train[key])
    loader_cfg.dataset.pop('bbox_file', None)
    loader_cfg.dataset['test_mode'] = True
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    return loader_cfg


def calibration_inputs(runner, cfg, count: int) -> List[np.ndarray]:
    """The first ``count`` training images as the model sees them: the
    training split read by the test pipeline (no augmentation, no
    shuffling, so the same images every time), through the model's data
    preprocessor; each (1, 3, H, W) float32."""
    loader = runner.build_dataloader(training_split_loader(cfg))
    images: List[np.ndarray] = []
    with torch.no_grad():
        for batch in loader:
            data = runner.model.data_preprocessor(batch, False)
            for x in data['inputs']:
                images.append(x[None].float().numpy())
                if len(images) == count:
                    return images
    return images
