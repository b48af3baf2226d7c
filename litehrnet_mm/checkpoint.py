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
import zipfile
from collections import OrderedDict
from typing import Any, List, Optional, Type

import numpy as np
import torch

from .models.backbones.state_dict_check import _SOURCE_KEY, litehrnet_prefix
from .utils.paths import require_file


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


_NUMPY2 = 'numpy._core.multiarray.'


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
        # numpy 2 pickles the same two under the name of its renamed
        # numpy.core (numpy 1.26 has numpy._core too, as an alias).
        (np.core.multiarray._reconstruct, _NUMPY2 + '_reconstruct'),
        (np.core.multiarray.scalar, _NUMPY2 + 'scalar'),
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


def is_litehrnet_state_dict(state_dict: Any) -> bool:
    """Whether ``state_dict`` holds a Lite-HRNet backbone, bare or under a
    prefix such as ``backbone.``."""
    return litehrnet_prefix(state_dict) is not None


def why_unloadable(path: str, error: Exception) -> Optional[str]:
    """What is wrong with the file that ``torch.load`` failed on, or None
    when the failure is not the file's (``map_location='cuda'`` without a
    GPU, ...). torch.save writes a zip archive (a legacy file is a pickle,
    opcode PROTO first); a truncated archive loses its central directory."""
    with open(path, 'rb') as f:
        head = f.read(1)
    if not head:
        return 'cannot be read: it is empty (0 bytes)'
    if not zipfile.is_zipfile(path) and head != pickle.PROTO:
        first = str(error).splitlines()[0] if str(error) else ''
        return (
            'cannot be read: it is truncated or not a PyTorch checkpoint '
            f'({type(error).__name__}: {first})'
        )
    if isinstance(error, pickle.UnpicklingError):
        reason = next(
            (
                line.strip()
                for line in str(error).splitlines()
                if 'GLOBAL' in line or 'getattr' in line
            ),
            str(error).strip(),
        )
        return (
            'refused: it asks to run code or build objects outside the '
            f'types mmengine writes (weights_only loading). {reason}'
        )
    return None


def load_file(path: str, error: Type[Exception], what: str, **load) -> Any:
    """``torch.load(path, map_location='cpu', **load)``; a failure of the
    file itself (:func:`why_unloadable`: empty, truncated, refused) raised
    as ``error('<what> <path> <why>')``, any other failure unchanged. For
    the package's own readers of a checkpoint file (publish, convert),
    which name it in their own error type."""
    try:
        return torch.load(path, map_location='cpu', **load)
    except Exception as e:
        why = why_unloadable(path, e)
        if why is None:
            raise
        raise error(f'{what} {path} {why}') from None


def load_from_local(filename: str, map_location=None) -> Any:
    """mmengine's loader for local paths, with the file named in its errors
    and Lite-HRNet state dicts tagged with their file.

    Registered in place of mmengine's own (``CheckpointLoader``, prefix
    ``''``) and named like it, so mmengine's log line still says ``local``.
    The loading is mmengine's: ``torch.load`` with its default
    ``weights_only=True``, the same result and metadata for any other
    checkpoint. Where mmengine fails on a missing, empty, truncated or
    refused file, the error keeps its type and names the file; any other
    error (``map_location='cuda'`` without a GPU, ...) passes unchanged.
    """
    path = os.path.expanduser(filename)
    require_file(
        path,
        'checkpoint',
        '; expected a .pth file written by torch.save or mim train',
    )
    from mmengine.runner import checkpoint as mmengine_checkpoint

    try:
        checkpoint = mmengine_checkpoint.load_from_local(
            filename, map_location
        )
    except Exception as e:
        message = why_unloadable(path, e)
        if message is None:
            raise
        raise type(e)(f'checkpoint {path} {message}') from None
    state_dict = checkpoint
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
    # Only dict subclasses (OrderedDict, what torch saves) take attributes.
    if is_litehrnet_state_dict(state_dict) and hasattr(state_dict, '__dict__'):
        metadata = getattr(state_dict, '_metadata', None) or OrderedDict()
        metadata.setdefault('', {})
        for entry in metadata.values():
            entry[_SOURCE_KEY] = path
        state_dict._metadata = metadata
    return checkpoint


def register_checkpoint_loader() -> None:
    """Put :func:`load_from_local` behind mmengine's local paths.

    Why a loader of ours at all: mmengine's local loader is the only code
    that holds both the file's path and torch.load's error, so it is the
    only place where a missing, empty, truncated or refused checkpoint can
    be named (``mim test --checkpoint``, ``load_from``, ``Pretrained``
    reach torch.load through it, and its own message for a missing file
    is ``... can not be found`` without saying that it is a folder), and
    the only place that knows which file a state dict came from, which the
    backbone's fit checks name. Everything else is left to the hooks that
    torch gives every module (see
    :mod:`litehrnet_mm.models.backbones.state_dict_check`), which need no
    loader: without this registration the checks still run, naming "the
    state dict" instead of the file.
    """
    from mmengine.runner import CheckpointLoader

    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True
    )
