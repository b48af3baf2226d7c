"""``LiteHRNet.switch_to_deploy``: the backbone rebuilt, in place, for fast
inference."""

import torch.nn as nn

from .blocks import (
    DeployIterativeHead,
    DeployLiteHRModule,
    DeployStem,
)
from .fold import fold_sequential


def switch_to_deploy(model: nn.Module, channels_last: bool = True):
    """Turn a :class:`~litehrnet_mm.LiteHRNet` into its deploy form, in
    place, and return it.

    BN is folded into the convs, the fusion's doubled term ``2 * f_i0`` is
    computed once with the factor folded into its weights, the channel
    shuffles write into one interleaved buffer, nearest upsampling is a
    broadcast, adaptive pooling is a fixed-kernel average pool when the
    branch sizes divide (exportable), the spatial weighting runs linear
    layers, and with ``channels_last`` the stem turns the input
    channels-last so every conv runs in that layout (the returned maps are
    channels-last too; their values do not change).

    The deploy form is for inference only: it has no BN layers and no
    gradients path worth training, and its state dict differs from the
    trained one. Outputs stay within 1e-4 of the eager model in eval mode.
    """
    if getattr(model, 'deploy', False):
        return model
    model.eval()
    model.stem = DeployStem(model.stem, channels_last=channels_last)
    for i in range(model.num_stages):
        transition = getattr(model, f'transition{i}')
        setattr(
            model,
            f'transition{i}',
            nn.ModuleList(
                [
                    None if layer is None else fold_sequential(layer)
                    for layer in transition
                ]
            ),
        )
        stage = getattr(model, f'stage{i}')
        setattr(
            model,
            f'stage{i}',
            nn.Sequential(*[DeployLiteHRModule(m) for m in stage]),
        )
    if model.with_head:
        model.head_layer = DeployIterativeHead(model.head_layer)
    model.deploy = True
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
