"""What the tests of the ONNX-based exporters share: an export job of a
small conv -> BN -> deconv -> BN model (the BatchNorms that the exporters
fold, as in a heatmap head), on 16x12 images."""

import copy

import torch
import torch.nn as nn

from litehrnet_mm.deploy.exporters import ExportJob

SHAPE = (16, 12)


def _bn(channels, gen):
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.running_mean.normal_(generator=gen)
        bn.running_var.uniform_(0.5, 1.5, generator=gen)
        bn.weight.uniform_(0.5, 1.5, generator=gen)
        bn.bias.normal_(generator=gen)
    return bn


def head_model(seed=0):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False),
        _bn(6, gen),
        nn.ReLU(),
        nn.ConvTranspose2d(6, 4, 4, 2, 1, bias=False),
        _bn(4, gen),
    )
    return model.eval()


def job(tmp_path, precision, suffix, **more):
    """(the job, an untouched copy of its model)."""
    model = head_model()
    work = tmp_path / 'work'
    work.mkdir(exist_ok=True)
    made = ExportJob(
        model=model,
        shape=SHAPE,
        batch=2,
        precision=precision,
        output=str(tmp_path / f'model{suffix}'),
        work_dir=str(work),
        **more,
    )
    return made, copy.deepcopy(model)


def images(n=2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, *SHAPE, generator=gen)


def has_batch_norm(model):
    return any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
