"""What every runtime is: ``runtime(images) -> [outputs]``, numpy in and
out, and the table that names them."""

import os
from typing import Callable, Dict, List, Type

import numpy as np

#: Runtime name -> class, filled by :func:`register_runtime`.
RUNTIMES: Dict[str, Type['Runtime']] = {}


def register_runtime(name: str) -> Callable[[type], type]:
    """Class decorator: make the runtime loadable as ``name``."""

    def register(cls: type) -> type:
        cls.name = name
        RUNTIMES[name] = cls
        return cls

    return register


class Runtime:
    """A compiled model: ``runtime(images) -> [outputs]``.

    Args:
        file (str): The artifact (its main file when it has several).
        threads (int, optional): Compute threads; None leaves the
            runtime's default.
        **options: What the artifact's metadata says this runtime needs
            (``runtime_options``), e.g. OpenVINO's inference precision.
    """

    name = ''

    def __init__(self, file: str, threads=None, **options) -> None:
        if not os.path.isfile(file):
            raise FileNotFoundError(
                f'{self.name}: model file {file} not found; expected an '
                'artifact written by tools/deploy/export.py'
            )
        self.file = file
        self.threads = threads
        self.options = options

    @property
    def input_shape(self) -> tuple:
        """(N, 3, H, W); a free axis is named (e.g. ``'batch'``)."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        """Float32 (N, 3, H, W) images -> the model's outputs, float32."""
        raise NotImplementedError
