"""``LiteHRNet.switch_to_deploy``: the backbone rebuilt, in place, for fast
inference."""

import torch
import torch.nn as nn

from litehrnet_mm.errors import DeployError

from .blocks import DeployIterativeHead, DeployLiteHRModule, DeployStem
from .fold import fold_sequential, unfoldable_layers


def switch_to_deploy(
    model: nn.Module, channels_last: bool = True
) -> nn.Module:
    """Turn a :class:`~litehrnet_mm.LiteHRNet` into its deploy form, in
    place, and return it.

    BN is folded into the convs, the fusion's doubled term ``2 * f_i0`` is
    computed once with the factor folded into its weights, the upsampled
    fusion terms are summed from the lowest resolution up, the spatial
    weightings of all branches run as one pair of convs, adaptive pooling
    is a fixed-kernel average pool (exportable), and sizes are constants
    of a traced graph (see :mod:`litehrnet_mm.deploy.blocks`). With
    ``channels_last`` (the default, for PyTorch) the weights and the
    activations are channels-last: PyTorch's CPU convs are faster in that
    layout (1.3x for the whole deploy form at batch 1, 2 threads); the
    returned maps are channels-last too, with the same values. The ONNX
    export leaves it off (the runtimes choose their own layouts).

    The deploy form is for inference only: it has no BN layers, and its
    state dict differs from the trained one, so load weights first.
    Outputs stay within 1e-4 of the eager model in eval mode.

    Raises:
        DeployError: a layer it cannot fold (:func:`.fold.unfoldable_layers`:
            GN, LN, IN, BN without running statistics, a conv of another
            ``conv_cfg``), before anything is changed.
    """
    if model.deployed:
        return model
    unfoldable = unfoldable_layers(model)
    if unfoldable:
        raise DeployError(
            f'switch_to_deploy: {len(unfoldable)} layers cannot be folded, '
            f'e.g. {", ".join(unfoldable[:3])}; the deploy form folds '
            'BatchNorm with running statistics into plain convs: expected '
            "norm_cfg=dict(type='BN') or SyncBN, and conv_cfg=None"
        )
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
    model.deployed = True
    for p in model.parameters():
        p.requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model.eval()
