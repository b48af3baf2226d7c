"""Checks of a data folder, so a wrong path gets one clear error.

The hosts' datasets fail on a wrong ``data_root`` with an assertion, a
JSON decoding error without the file's name, or ``need at least one array
to concatenate`` for an empty annotation file. These checks run first and
name the path and what was expected there.
"""

import os.path as osp
from typing import Iterable, Optional

from litehrnet_mm.utils.paths import require_file

__all__ = ['require_dir', 'require_file', 'require_images']


def require_dir(path: Optional[str], what: str, hint: str = '') -> None:
    """Raise ``FileNotFoundError`` naming ``path`` unless it is a folder."""
    if path and osp.isdir(path):
        return
    found = 'a file' if path and osp.isfile(path) else 'not found'
    raise FileNotFoundError(f'{what} {path}: {found}{hint}')


def require_images(paths: Iterable[str], folder: str, source: str) -> None:
    """The first image a list names must exist: a wrong ``data_prefix``
    would otherwise surface at the first training step."""
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'image {path} named in {source} not found; expected the '
                f'images of {source} under {folder} (check data_root and '
                'data_prefix)'
            )
        return
