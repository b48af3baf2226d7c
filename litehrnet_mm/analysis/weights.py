"""Random weights that make a model compute something realistic.

The default initialisation of Lite-HRNet (convs from N(0, 0.001), BN at
weight 1, bias 0, statistics 0 and 1) makes most outputs nearly zero: a
comparison of two implementations on it tests little, and timings on it
run into denormal numbers (tiny floats that CPUs handle up to 100x more
slowly). :func:`random_weights_` gives every parameter and BN statistic a
value of realistic magnitude, for tests, benchmarks and exports.
"""

from typing import Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ['random_weights_']

_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def random_weights_(
    model: nn.Module, shape: Optional[Sequence[int]] = None, seed: int = 0
) -> nn.Module:
    """Draw every parameter and BN statistic of ``model`` at random, in place.

    Every weight of two or more dimensions (convs, linear layers) is drawn
    from N(0, 1 / fan_in); norm weights from U(0.5, 1.5); biases and every
    other one-dimensional parameter from N(0, 0.1^2). (Kaiming's 2 / fan_in
    would keep the scale of ReLU activations only where BN statistics are
    calibrated: with random ones a deep network's outputs grow past 1e6.)

    BN running statistics: without ``shape``, random (means from
    N(0, 0.1^2), variances from U(0.5, 1.5)), which exercises every value
    in a comparison; with ``shape``, those of one forward pass in training
    mode on ``torch.rand(shape)``, so activations in eval mode on inputs
    of that distribution have realistic magnitudes and no denormals.
    Calibrate on the distribution you will run: statistics from ``rand``
    inputs fed ``randn`` images give activations in the thousands.

    Args:
        model (nn.Module): The model; called as ``model(x)`` when ``shape``
            is given.
        shape (Sequence[int], optional): The full input shape
            ``(N, C, H, W)`` of the calibration pass, ``N >= 2`` for batch
            statistics. Defaults to None (random statistics).
        seed (int): Seed of the draws and the calibration input; the same
            seed gives the same weights. Defaults to 0.

    Returns:
        nn.Module: ``model``, in the training mode it had.

    Example:
        >>> from litehrnet_mm import LiteHRNet
        >>> from litehrnet_mm.analysis.weights import random_weights_
        >>> model = random_weights_(LiteHRNet(), (2, 3, 256, 192)).eval()
    """
    if shape is not None:
        shape = tuple(shape)
        if (
            len(shape) != 4
            or not all(isinstance(s, int) and s > 0 for s in shape)
            or shape[0] < 2
        ):
            raise ValueError(
                f'random_weights_: shape={shape!r}; expected the input '
                'shape (N, C, H, W) of the calibration pass, positive '
                'ints, N >= 2 (BN needs batch statistics)'
            )
    gen = torch.Generator().manual_seed(seed)

    def draw(like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=gen)

    def uniform(like: torch.Tensor) -> torch.Tensor:
        return torch.rand(like.shape, generator=gen) + 0.5

    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, _NORMS)
            for name, param in module.named_parameters(recurse=False):
                if param.dim() > 1:
                    fan_in = param[0].numel()
                    param.copy_(draw(param) / fan_in**0.5)
                elif is_norm and name == 'weight':
                    param.copy_(uniform(param))
                else:
                    param.copy_(0.1 * draw(param))
            if isinstance(module, _BatchNorm) and module.track_running_stats:
                module.running_mean.copy_(0.1 * draw(module.running_mean))
                module.running_var.copy_(uniform(module.running_var))
        if shape is not None:
            _calibrate_bn(model, torch.rand(shape, generator=gen))
    return model


def _calibrate_bn(model: nn.Module, x: torch.Tensor) -> None:
    """Set the BN running statistics to those of ``model(x)``."""
    was_training = model.training
    bns = [
        m
        for m in model.modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats
    ]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        # momentum None: the running statistics become the cumulative
        # average, here of this one batch.
        m.momentum = None
    try:
        model.train()
        model(x)
    finally:
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
        model.train(was_training)
