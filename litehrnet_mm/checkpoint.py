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

import os
import pickle
from collections import OrderedDict
from typing import Any, List

import numpy as np
import torch

from .errors import CheckpointError
from .models.backbones.state_dict_check import _SOURCE_KEY


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


def load_local_checkpoint(filename: str, map_location=None) -> Any:
    """mmengine's loader for local paths, with errors that name the file.

    Registered in place of mmengine's own (``CheckpointLoader``, prefix
    ``''``), so ``load_from``, ``--resume``, ``mim test --checkpoint``,
    ``init_cfg=dict(type='Pretrained')`` and the inferencers all use it.
    The loading itself is unchanged (``torch.load`` with its default
    ``weights_only=True``).
    """
    path = os.path.expanduser(filename)
    if not os.path.isfile(path):
        what = 'a folder' if os.path.isdir(path) else 'not found'
        raise FileNotFoundError(
            f'checkpoint {path}: {what}; expected a .pth file written by '
            'torch.save or mim train'
        )
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {path} is empty (0 bytes)')
    try:
        checkpoint = torch.load(path, map_location=map_location)
    except pickle.UnpicklingError as e:
        reason = next(
            (
                line.strip()
                for line in str(e).splitlines()
                if 'GLOBAL' in line or 'getattr' in line
            ),
            str(e).strip(),
        )
        raise pickle.UnpicklingError(
            f'checkpoint {path} refused: it asks to run code or build '
            'objects outside the types mmengine writes (weights_only '
            f'loading). {reason}'
        ) from None
    except Exception as e:  # garbage makes the unpickler fail anyhow
        raise CheckpointError(
            f'checkpoint {path} cannot be read: it is truncated or not a '
            f'PyTorch checkpoint ({type(e).__name__}: '
            f'{str(e).splitlines()[0] if str(e) else ""})'
        ) from None
    state_dict = checkpoint
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
    # Only dict subclasses (OrderedDict, what torch saves) take attributes.
    if isinstance(state_dict, dict) and hasattr(state_dict, '__dict__'):
        metadata = getattr(state_dict, '_metadata', None) or OrderedDict()
        metadata.setdefault('', {})
        for entry in metadata.values():
            entry[_SOURCE_KEY] = path
        state_dict._metadata = metadata
    return checkpoint


def register_checkpoint_loader() -> None:
    """Put :func:`load_local_checkpoint` behind mmengine's local paths."""
    from mmengine.runner import CheckpointLoader

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True
    )
