"""The one check of a path that should be a file: what is there instead."""

import os.path as osp
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
