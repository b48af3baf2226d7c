"""INT8 post-training quantization of the exported backbone, measured.

The backbone of a trained model is exported (deploy form, static shapes)
and quantized by NNCF for OpenVINO, calibrated on training images prepared
by the config's own test pipeline and data preprocessor. To measure what
it costs in accuracy, the host's test loop runs with the backbone replaced
by the compiled model (:class:`RuntimeBackbone`): the head, flip test,
decoding and metric are the host's own, so the fp32 and int8 figures are
comparable with ``mim test``.
"""

import copy
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .onnx import export_onnx


class RuntimeBackbone(nn.Module):
    """A backbone whose forward runs a compiled static-shape model:
    batches are padded to its batch size (and split when larger)."""

    def __init__(self, runtime, out_channels: Tuple[int, ...]) -> None:
        super().__init__()
        self.runtime = runtime
        self.batch = runtime.input_shape[0]
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outputs: List[List[np.ndarray]] = []
        for start in range(0, x.shape[0], self.batch):
            chunk = x[start : start + self.batch].detach().cpu().numpy()
            n = chunk.shape[0]
            if n < self.batch:
                pad = np.zeros((self.batch - n, *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            outputs.append([o[:n] for o in self.runtime(chunk)])
        return tuple(
            torch.from_numpy(np.concatenate([o[i] for o in outputs]))
            for i in range(len(outputs[0]))
        )


def build_runner(cfg, checkpoint: str, work_dir: str):
    """The host's runner for ``cfg`` with ``checkpoint`` loaded."""
    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    cfg.load_from = checkpoint
    cfg.work_dir = work_dir
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    # What runner.test() does before its loop (the logger hook needs it).
    runner.call_hook('before_run')
    runner.model.eval()
    return runner


def calibration_inputs(runner, cfg, count: int) -> List[np.ndarray]:
    """``count`` training images as the backbone sees them: the training
    split read by the test pipeline (no augmentation), through the
    model's data preprocessor."""
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    train = cfg.train_dataloader.dataset
    for key in ('ann_file', 'data_prefix', 'data_root'):
        if key in train:
            loader_cfg.dataset[key] = copy.deepcopy(train[key])
    loader_cfg.dataset.pop('bbox_file', None)
    loader_cfg.dataset['test_mode'] = True
    loader = runner.build_dataloader(loader_cfg)
    images: List[np.ndarray] = []
    with torch.no_grad():
        for batch in loader:
            data = runner.model.data_preprocessor(batch, False)
            for x in data['inputs']:
                images.append(x[None].numpy())
                if len(images) == count:
                    return images
    return images


def export_backbone(
    runner, shape: Tuple[int, int], file: str, batch: int = 1
) -> Tuple[int, ...]:
    """Export the runner's backbone (deploy form) to ``file``; returns
    its ``out_channels``."""
    backbone = copy.deepcopy(runner.model.backbone).eval()
    export_onnx(backbone, shape, file, batch=batch)
    return tuple(backbone.out_channels)


def quantize_openvino(
    onnx_file: str,
    images: List[np.ndarray],
    output: str,
    batch: int = 1,
    fast_bias_correction: bool = True,
    ignored_types: Optional[List[str]] = None,
) -> str:
    """NNCF's post-training INT8 quantization of ``onnx_file`` for
    OpenVINO, calibrated on ``images`` (each (1, 3, H, W)); writes the
    OpenVINO IR ``output`` (.xml, with its .bin) and returns it."""
    import nncf
    import openvino as ov

    model = ov.Core().read_model(onnx_file)
    samples = [
        np.concatenate(images[i : i + batch])
        for i in range(0, len(images) - batch + 1, batch)
    ]
    kwargs = {}
    if ignored_types:
        kwargs['ignored_scope'] = nncf.IgnoredScope(types=ignored_types)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(samples),
        subset_size=len(samples),
        fast_bias_correction=fast_bias_correction,
        **kwargs,
    )
    ov.save_model(quantized, output)
    return output
