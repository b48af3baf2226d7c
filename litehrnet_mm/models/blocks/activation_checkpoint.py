"""Activation checkpointing (``with_cp``) that leaves BN statistics alone.

Recomputing a block in the backward pass runs its BatchNorm layers a second
time on the same batch; in training mode that would update their running
statistics twice per step, so a model trained with ``with_cp=True`` would
drift from one trained without it. The recomputation here runs with the
momentum of every BN layer at zero and restores the batch counters, so
``with_cp`` changes memory and time, nothing else.
"""

import contextlib
from typing import Callable, Iterator

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm


@contextlib.contextmanager
def _frozen_bn_stats(module: nn.Module) -> Iterator[None]:
    saved = []
    for m in module.modules():
        if isinstance(m, _BatchNorm) and m.training:
            counter = (
                None
                if m.num_batches_tracked is None
                else m.num_batches_tracked.clone()
            )
            saved.append((m, m.momentum, counter))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, counter in saved:
            m.momentum = momentum
            if counter is not None:
                m.num_batches_tracked.copy_(counter)


def maybe_checkpoint(module: nn.Module, fn: Callable, *args):
    """Run ``fn(*args)``, checkpointed when ``module.with_cp`` applies.

    Checkpointing applies in training mode with autograd on; the
    non-reentrant variant is used, so parameter gradients flow even when
    no input requires grad (the image entering the stem).
    """
    if not (module.with_cp and module.training and torch.is_grad_enabled()):
        return fn(*args)
    return cp.checkpoint(
        fn,
        *args,
        use_reentrant=False,
        context_fn=lambda: (
            contextlib.nullcontext(),
            _frozen_bn_stats(module),
        ),
    )
