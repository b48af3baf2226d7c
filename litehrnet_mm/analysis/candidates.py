"""The models the benchmark times, each named by what it is.

* ``Lite-HRNet-18 (litehrnet_mm)``: our backbone and the 1x1 heatmap conv
  of a top-down head (the model of the paper's table);
* ``Lite-HRNet-18 (mmpose port)``: mmpose's port of the same network,
  loaded with the very same weights (the two compute the same function:
  one accuracy for both);
* what users pick instead, built from mmpose's own configs: MobileNetV2
  and ShuffleNetV2 SimpleBaselines, RTMPose-t, HRNet-W32;
* segmentation: our Cityscapes config (backbone and FCN head), and the
  real-time models users pick instead, built from mmseg's own Cityscapes
  configs: BiSeNetV2, STDC1, MobileNetV3-LRASPP, Fast-SCNN and
  HRNet-W18-Small with an FCN head.

The accuracy column is the published figure of the model's weights: for
pose the COCO val AP at 256x192 as mmpose's model zoo reports it (for
Lite-HRNet, mmpose's checkpoints of the official weights; the paper
reports 64.8 for -18 and 67.2 for -30); for segmentation the Cityscapes
val mIoU of the config's weights in mmseg's metafile (ours has no released
Cityscapes weights: blank).

Every model gets random weights from fixed seeds, its BN statistics
calibrated on inputs of the timed distribution (:func:`benchmark_images`,
``torch.rand``) and its outputs scaled to a peak of 1 (heatmap scale), so
that every process that builds a candidate builds the same function, and
no timing runs into denormal numbers.
"""

import copy
import importlib
import os
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .models import PoseModel, build_from_config
from .timing import Block, local_block
from .weights import random_weights_

#: Our Cityscapes configs, by arch.
SEG_CONFIG = (
    'configs/seg/cityscapes/'
    'fcn_litehrnet-{arch}_4xb4-160k_cityscapes-512x1024.py'
)
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@dataclass(frozen=True)
class Candidate:
    """A model of the benchmark.

    Attributes:
        key: Its name on the command line (``--models``).
        label: What it is, for the tables.
        kind: ``'ours'``, ``'port'``, ``'peer'`` or ``'seg'``.
        ap: The published accuracy of its weights, as text: COCO val AP
            (256x192) for pose, Cityscapes val mIoU for segmentation.
        arch: The Lite-HRNet preset (ours, the port, seg).
        config: A peer's config, relative to its host's ``.mim/configs``.
        host: The package of a peer's config (``'mmpose'`` or
            ``'mmseg'``).
    """

    key: str
    label: str
    kind: str
    ap: str = ''
    arch: str = '18'
    config: str = ''
    host: str = 'mmpose'


# mmpose's checkpoints of the official Lite-HRNet weights, by arch.
LITEHRNET_AP = {'18': '64.2', '30': '67.6'}

PEERS = (
    Candidate(
        'mobilenetv2',
        'MobileNetV2 SimpleBaseline',
        'peer',
        '64.8',
        config='body_2d_keypoint/topdown_heatmap/coco/'
        'td-hm_mobilenetv2_8xb64-210e_coco-256x192.py',
    ),
    Candidate(
        'shufflenetv2',
        'ShuffleNetV2 SimpleBaseline',
        'peer',
        '60.2',
        config='body_2d_keypoint/topdown_heatmap/coco/'
        'td-hm_shufflenetv2_8xb64-210e_coco-256x192.py',
    ),
    Candidate(
        'rtmpose-t',
        'RTMPose-t',
        'peer',
        '68.2',
        config='body_2d_keypoint/rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py',
    ),
    Candidate(
        'hrnet-w32',
        'HRNet-W32',
        'peer',
        '74.6',
        config='body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    ),
)


def pose_candidates(arch: str = '18', peers: bool = True) -> List[Candidate]:
    """mmpose's port, ours, and (``peers``) the models users pick
    instead."""
    ap = LITEHRNET_AP.get(arch, '')
    found = [
        Candidate(
            f'port-{arch}',
            f'Lite-HRNet-{arch} (mmpose port)',
            'port',
            ap,
            arch,
        ),
        Candidate(
            f'ours-{arch}',
            f'Lite-HRNet-{arch} (litehrnet_mm)',
            'ours',
            ap,
            arch,
        ),
    ]
    return found + list(PEERS if peers else ())


# mmseg's real-time Cityscapes models, each with the val mIoU of its
# config's weights in mmseg's metafile (single scale).
SEG_PEERS = tuple(
    Candidate(key, label, 'peer', miou, config=config, host='mmseg')
    for key, label, miou, config in (
        (
            'bisenetv2',
            'BiSeNetV2',
            '73.21',
            'bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
        ),
        (
            'stdc1',
            'STDC1',
            '71.82',
            'stdc/stdc1_4xb12-80k_cityscapes-512x1024.py',
        ),
        (
            'mobilenetv3-lraspp',
            'MobileNetV3-LRASPP',
            '69.54',
            'mobilenet_v3/'
            'mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
        ),
        (
            'fast-scnn',
            'Fast-SCNN',
            '70.96',
            'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py',
        ),
        (
            'hrnet-w18-small',
            'HRNet-W18-Small, FCN',
            '76.31',
            'hrnet/fcn_hr18s_4xb2-160k_cityscapes-512x1024.py',
        ),
    )
)


def seg_candidates(arch: str = '18', peers: bool = True) -> List[Candidate]:
    """Ours (our Cityscapes config) and (``peers``) mmseg's real-time
    models."""
    ours = Candidate(
        f'seg-{arch}',
        f'FCN Lite-HRNet-{arch}, Cityscapes (litehrnet_mm)',
        'seg',
        arch=arch,
    )
    return [ours] + list(SEG_PEERS if peers else ())


def select(
    task: str,
    arch: str = '18',
    peers: bool = True,
    keys: Optional[Sequence[str]] = None,
) -> List[Candidate]:
    """The candidates of ``task`` (``'pose'`` or ``'seg'``), or those of
    them named by ``keys`` (peers included then)."""
    pick = seg_candidates if task == 'seg' else pose_candidates
    found = pick(arch, peers or bool(keys))
    if keys:
        unknown = sorted(set(keys) - {c.key for c in found})
        if unknown:
            raise ValueError(
                f'--models {" ".join(unknown)}: unknown; expected some of '
                f'{" ".join(c.key for c in found)}'
            )
        found = [c for c in found if c.key in keys]
    return found


class ExportablePool(nn.Module):
    """``nn.AdaptiveAvgPool2d(size)`` as the deploy form pools
    (:func:`~litehrnet_mm.deploy.ops.pool_to`): a fixed-kernel pool where
    the sizes divide, constant pooling matrices where they do not. The
    same function; what a deployer does to a model whose adaptive pooling
    does not export (Fast-SCNN's pyramid pooling: 3x3 and 6x6 of a 16x32
    map), as mmdeploy rewrites it."""

    def __init__(self, size) -> None:
        super().__init__()
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from litehrnet_mm.deploy.ops import pool_to

        size = tuple(
            int(x.shape[-2 + k]) if s is None else s
            for k, s in enumerate(self.size)
        )
        return pool_to(x, size)


def exportable_pools_(model: nn.Module) -> nn.Module:
    """``model`` (in place; returned) with every ``nn.AdaptiveAvgPool2d``
    an :class:`ExportablePool` of the same output size."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.AdaptiveAvgPool2d):
                setattr(parent, name, ExportablePool(child.output_size))
    return model


class Scaled(nn.Module):
    """``model``'s outputs as one flat tuple, each times ``scale``."""

    def __init__(self, model: nn.Module, scale: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    @property
    def task(self) -> Optional[str]:
        """The wrapped model's task, by which the exporters pick the
        task's int8 options (``ExportJob.task``)."""
        return getattr(self.model, 'task', None)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        from litehrnet_mm.deploy.onnx import flatten_outputs

        return tuple(o * self.scale for o in flatten_outputs(self.model(x)))


def benchmark_images(
    batch: int, shape: Tuple[int, int], seed: int = 1234
) -> torch.Tensor:
    """The timed inputs: ``torch.rand`` images, the same in every
    process."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, *shape, generator=gen)


def calibration_images(shape: Tuple[int, int], count: int) -> List[np.ndarray]:
    """int8's calibration images for the benchmark: ``count`` images of the
    timed distribution (speed only), not the timed ones themselves."""
    return [
        benchmark_images(1, shape, seed=100 + i).numpy() for i in range(count)
    ]


def calibrated(model: nn.Module, shape: Tuple[int, int]) -> Scaled:
    """Random weights, BN statistics of ``rand`` inputs, peak output 1."""
    random_weights_(model, (2, 3, *shape))
    model.eval()
    with torch.no_grad():
        peak = max(
            o.abs().max().item()
            for o in Scaled(model)(benchmark_images(1, shape, seed=1))
        )
    return Scaled(model, 1.0 / peak).eval()


def _port(arch: str) -> PoseModel:
    from mmpose.models.backbones import LiteHRNet as PortLiteHRNet

    from litehrnet_mm.models.backbones.arch import arch_to_extra

    extra = arch_to_extra(arch)
    backbone = PortLiteHRNet(extra=extra)
    backbone.out_channels = (extra['stages_spec']['num_channels'][-1][0],)
    return PoseModel(backbone, 17)


def build(candidate: Candidate, shape: Tuple[int, int]) -> Scaled:
    """The eager model of ``candidate`` (eval mode), the same in every
    process."""
    from litehrnet_mm.models.backbones.litehrnet import LiteHRNet

    if candidate.kind == 'seg':
        config = os.path.join(_REPO, SEG_CONFIG.format(arch=candidate.arch))
        return calibrated(build_from_config(config), shape)
    if candidate.kind == 'peer':
        host = importlib.import_module(candidate.host)
        root = os.path.join(os.path.dirname(host.__file__), '.mim', 'configs')
        config = os.path.join(root, candidate.config)
        model = exportable_pools_(build_from_config(config))
        return calibrated(model, shape)
    ours = calibrated(PoseModel(LiteHRNet(arch=candidate.arch), 17), shape)
    if candidate.kind == 'port':
        port = _port(candidate.arch)
        port.load_state_dict(ours.model.state_dict())
        return Scaled(port.eval(), ours.scale)
    return ours


def training_steps(
    arch: str, shape: Tuple[int, int], batch: int
) -> Dict[str, Block]:
    """A forward and backward pass of mmpose's port and of ours (the same
    weights, a heatmap MSE loss), as blocks to time in this process."""
    from litehrnet_mm.models.backbones.litehrnet import LiteHRNet

    x = torch.rand(batch, 3, *shape)
    target = torch.rand(batch, 17, -(-shape[0] // 4), -(-shape[1] // 4))
    ours = random_weights_(PoseModel(LiteHRNet(arch=arch), 17), (2, 3, *shape))
    port = _port(arch)
    port.load_state_dict(ours.state_dict())
    blocks: Dict[str, Block] = {}
    for label, model in (
        (f'Lite-HRNet-{arch} (mmpose port)', port),
        (f'Lite-HRNet-{arch} (litehrnet_mm)', ours),
    ):
        model.train()

        def step(m: nn.Module = model) -> None:
            m.zero_grad(set_to_none=True)
            (m(x) - target).pow(2).mean().backward()

        blocks[label] = local_block(step)
    return blocks


def export_artifact(
    model: nn.Module,
    runtime: str,
    precision: str,
    shape: Tuple[int, int],
    output: str,
    batch: int,
    calib: Optional[List[np.ndarray]] = None,
) -> str:
    """``model``'s artifact for ``runtime`` at ``precision``; returns its
    path.

    Models with a Lite-HRNet backbone of ours go through
    :func:`litehrnet_mm.deploy.export.export` (deploy form, checked,
    metadata). The others (mmpose's port, the peers) have nothing to
    switch, which ``export`` refuses: they get the same registered
    exporter on the model as it is (int8: the quantizer's defaults over
    the whole graph, as a user would apply it, not Lite-HRNet's design),
    and the metadata that ``load_runtime`` needs to run the artifact as
    that exporter meant. The benchmark checks every artifact against the
    eager model itself.
    """
    from litehrnet_mm.deploy.export import export
    from litehrnet_mm.models.backbones.litehrnet import backbones_in

    model = copy.deepcopy(model).eval()
    if backbones_in(model):
        return export(
            model, runtime, precision, shape, output, batch, calib
        ).path
    return export_as_is(model, runtime, precision, shape, output, batch, calib)


def export_as_is(
    model: nn.Module,
    runtime: str,
    precision: str,
    shape: Tuple[int, int],
    output: str,
    batch: int,
    calib: Optional[List[np.ndarray]] = None,
) -> str:
    """``model`` (in eval mode) through ``runtime``'s registered exporter as
    it is, int8 with the quantizer's defaults over the whole graph, with
    the metadata ``load_runtime`` needs; returns the artifact's path (see
    :func:`export_artifact`)."""
    from litehrnet_mm.deploy.artifact import write_metadata
    from litehrnet_mm.deploy.export import check_pair
    from litehrnet_mm.deploy.exporters import EXPORTERS, ExportJob

    check_pair(runtime, precision)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with tempfile.TemporaryDirectory() as work_dir:
        job = ExportJob(
            model,
            tuple(shape),
            batch,
            precision,
            output,
            work_dir,
            calib,
            int8_design=False,
        )
        options = EXPORTERS[runtime](job) or {}
    write_metadata(
        output,
        dict(
            runtime=runtime,
            precision=precision,
            runtime_options=options,
            input_shape=[batch, 3, *shape],
        ),
    )
    return output
