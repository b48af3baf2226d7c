"""Safe loading of the checkpoints mmengine writes, under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default, and mmengine
0.10.7 calls ``torch.load`` without the argument. The checkpoints that
``mim train`` writes carry more than tensors (numpy arrays and scalars in the
message hub and the dataset meta, mmengine's ``HistoryBuffer``), so loading
them for ``mim test``, ``--resume``, ``load_from`` or an inferencer fails.

:func:`allow_mmengine_checkpoints` adds exactly those types to torch's
allowlist. ``weights_only`` stays on: a checkpoint whose pickle names any
other callable (code) is still refused. Importing ``litehrnet_mm`` calls it.

One of them needs care: a ``HistoryBuffer`` pickles its statistics methods
(``HistoryBuffer.min``, ...) as ``getattr(HistoryBuffer, 'min')``. Allowing
the builtin ``getattr`` would let a pickle reach any attribute of an allowed
object (``__globals__``, then ``os.system``), so the name ``getattr`` is
mapped to :func:`_history_buffer_getattr`, which resolves only those methods.
"""

import pickle
from typing import Any, List

import numpy as np
import torch


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for unpickling, limited to HistoryBuffer's statistics."""
    from mmengine.logging import HistoryBuffer

    # The built-in statistics, registered when a first buffer is made,
    # and any registered with HistoryBuffer.register_statistics.
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    if (
        obj is HistoryBuffer
        and isinstance(name, str)
        and name in allowed
        and callable(getattr(HistoryBuffer, name, None))
    ):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only the '
        'statistics methods of mmengine.logging.HistoryBuffer are allowed'
    )


def mmengine_checkpoint_types() -> List[Any]:
    """The non-tensor globals found in checkpoints that mmengine writes, in
    the form ``torch.serialization.add_safe_globals`` takes."""
    from mmengine.logging import HistoryBuffer

    types: List[Any] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        np.core.multiarray._reconstruct,
        np.core.multiarray.scalar,
        # pickle protocol 2 writes '__builtin__', later ones 'builtins'.
        (_history_buffer_getattr, '__builtin__.getattr'),
        (_history_buffer_getattr, 'builtins.getattr'),
    ]
    # One dtype class per numpy scalar type (numpy >= 1.25 has them).
    for scalar in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float16,
        np.float32,
        np.float64,
        np.str_,
    ):
        types.append(type(np.dtype(scalar)))
    return types


def allow_mmengine_checkpoints() -> None:
    """Allowlist :func:`mmengine_checkpoint_types` for ``torch.load``."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 loads them anyway
        add_safe_globals(mmengine_checkpoint_types())
