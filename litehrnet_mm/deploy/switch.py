"""``LiteHRNet.switch_to_deploy``: the backbone rebuilt, in place, for fast
inference."""

import torch.nn as nn

from .blocks import DeployIterativeHead, DeployLiteHRModule, DeployStem
from .fold import fold_sequential


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Turn a :class:`~litehrnet_mm.LiteHRNet` into its deploy form, in
    place, and return it.

    BN is folded into the convs, the fusion's doubled term ``2 * f_i0`` is
    computed once with the factor folded into its weights, the upsampled
    fusion terms are summed from the lowest resolution up, the spatial
    weightings of all branches run as one pair of convs, adaptive pooling
    is a fixed-kernel average pool (exportable), and sizes are constants
    of a traced graph (see :mod:`litehrnet_mm.deploy.blocks`).

    The deploy form is for inference only: it has no BN layers, and its
    state dict differs from the trained one, so load weights first.
    Outputs stay within 1e-4 of the eager model in eval mode.
    """
    if getattr(model, 'deploy', False):
        return model
    model.eval()
    model.stem = DeployStem(model.stem)
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
