"""The checks of a path that should be a file (what is there instead) or
a folder to write in (why it cannot be)."""

import os
import os.path as osp
import tempfile
from typing import Type


def require_file(
    path: str,
    what: str,
    hint: str = '',
    error: Type[Exception] = FileNotFoundError,
) -> None:
    """Raise ``error('<what> <path>: a folder|not found<hint>')`` unless
    ``path`` is a file.

    Args:
        path: The path to check.
        what: What the path should be, to start the message
            (``'checkpoint'``, ``'annotation file'``).
        hint: Appended to the message, e.g. ``'; expected a .pth file'``.
        error: The exception type (``FileNotFoundError`` by default, what
            ``open`` raises; a caller's own error type where it has one).
    """
    if osp.isfile(path):
        return
    found = 'a folder' if osp.isdir(path) else 'not found'
    raise error(f'{what} {path}: {found}{hint}')


def make_folder(
    folder: str, what: str, error: Type[Exception] = FileNotFoundError
) -> None:
    """Make ``folder`` (and its parents) and check that a file can be
    written in it, or raise ``error('<what> <folder>: <why>; expected
    ...')``: a file where a folder of the path should be, a folder that
    cannot be made or written."""
    path = osp.abspath(folder)
    while path and not osp.exists(path):
        path = osp.dirname(path)
    if path and not osp.isdir(path):
        raise error(
            f'{what} {folder}: {path} is a file; expected a folder that '
            'exists or can be made'
        )
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise error(
            f'{what} {folder}: cannot be made or written '
            f'({e.strerror or e}); expected a folder that exists or can be '
            'made, and can be written'
        ) from None
