"""Publishing a trained checkpoint: what a release needs, in plain types.

A checkpoint that ``mim train`` writes holds the optimizer, the parameter
schedulers and the message hub (mmengine's ``HistoryBuffer``), and numpy
arrays in its meta. ``torch.load(weights_only=True)``, torch's default since
2.6, refuses those unless :func:`litehrnet_mm.allow_mmengine_checkpoints`
has run (importing the package does, so this module reads them), and
``MMPoseInferencer`` / ``MMSegInferencer`` load the checkpoint before they
build the model (before a config's ``litehrnet_mm.LiteHRNet`` imports the
package). :func:`publish_checkpoint` keeps the weights and the
meta, turned into plain Python types, so the result loads anywhere; the
file name carries the first 8 hex digits of its sha256, as mmpose's and
mmseg's published checkpoints do.
"""

import hashlib
import io
import os
import tempfile
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from .checkpoint import load_file
from .errors import PublishError
from .utils.paths import make_folder, require_file

__all__ = ['PublishError', 'plain', 'publish_checkpoint', 'sha256_prefix']

_PLAIN = (str, int, float, bool, type(None))


def plain(value: Any, where: str = 'meta') -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python
    numbers, tuples and dict keys kept; tensors stay tensors.

    Raises:
        PublishError: an object of another type, named by its place.
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _PLAIN) or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        return {
            plain(k, where): plain(v, f'{where}[{k!r}]')
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [plain(v, f'{where}[{i}]') for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise PublishError(
        f'{where} is a {type(value).__module__}.{type(value).__name__}; '
        'expected plain data (numbers, strings, lists, dicts, numpy arrays '
        'or tensors) to publish'
    )


#: How many hex digits of the sha256 a published name carries.
HASH_DIGITS = 8


def sha256_prefix(path: str, digits: int = HASH_DIGITS) -> str:
    """The first ``digits`` hex digits of the file's sha256."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:digits]


def _read(in_file: str) -> dict:
    require_file(
        in_file,
        'publish: checkpoint',
        '; expected a checkpoint (.pth) written by mim train or torch.save',
        error=PublishError,
    )
    # Only a failure of the file itself is named as such (the reading
    # rules of litehrnet_mm.checkpoint); anything else passes.
    checkpoint = load_file(in_file, PublishError, 'publish:')
    if not isinstance(checkpoint, dict):
        raise PublishError(
            f'publish: {in_file} holds a {type(checkpoint).__name__}; '
            'expected a dict with a state_dict'
        )
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not all(
        isinstance(v, torch.Tensor) for v in state_dict.values()
    ):
        raise PublishError(
            f'publish: {in_file} has no state dict of tensors; expected '
            'a checkpoint written by mim train or torch.save'
        )
    return checkpoint


def publish_checkpoint(in_file: str, out_file: str) -> str:
    """Write the release form of ``in_file`` and return its path.

    The output keeps the weights (on the CPU) and the meta in plain Python
    types, drops the training state, and is named ``out_file`` with
    ``-<first 8 hex digits of its sha256>`` before the extension
    (``out.pth`` -> ``out-1a2b3c4d.pth``).

    Args:
        in_file: A checkpoint written by ``mim train`` (or a state dict).
        out_file: Where to write it, before the hash is added.

    Returns:
        str: The path of the published file.

    Raises:
        PublishError: ``in_file`` is missing or not a checkpoint, or the
            output would overwrite it.
    """
    checkpoint = _read(in_file)
    state_dict = checkpoint.get('state_dict', checkpoint)
    weights = OrderedDict((k, v.cpu()) for k, v in state_dict.items())
    # The per-module versions that torch's loaders read (BN's, ...).
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        weights._metadata = metadata
    # Only the weights and the meta: the optimizer, param_schedulers,
    # message_hub and the like are training state.
    published = {'state_dict': weights}
    if 'meta' in checkpoint:
        published['meta'] = plain(checkpoint['meta'])
    stem, ext = os.path.splitext(out_file)
    if ext.lower() not in ('', '.pth'):
        raise PublishError(
            f'publish: {out_file}: expected an OUT_FILE ending in .pth (the '
            'hash goes before it)'
        )
    ext = ext or '.pth'
    folder = os.path.dirname(os.path.abspath(out_file))
    make_folder(folder, 'publish: output folder', PublishError)
    # Serialised in memory: torch.save names a file's zip records after the
    # file, so a temporary file's random name would change the hash of the
    # same weights from one run to the next.
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    final = f'{stem}-{hashlib.sha256(data).hexdigest()[:HASH_DIGITS]}{ext}'
    if os.path.abspath(final) == os.path.abspath(in_file):
        raise PublishError(
            f'publish: {final} would overwrite the input; expected '
            'another OUT_FILE'
        )
    fd, tmp = tempfile.mkstemp(suffix=ext, dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        # mkstemp makes the file private; a release is for others to read.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return final
