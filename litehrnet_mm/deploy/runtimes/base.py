"""What every runtime is: ``runtime(images) -> [outputs]``, numpy in and
out, and the table that names them."""

import os
import threading
from typing import Callable, Dict, List, Optional, Tuple, Type

import numpy as np

from litehrnet_mm.errors import DeployError

#: Runtime name -> class, filled by :func:`register_runtime`.
RUNTIMES: Dict[str, Type['Runtime']] = {}


def register_runtime(name: str) -> Callable[[type], type]:
    """Class decorator: make the runtime loadable as ``name``."""

    def register(cls: type) -> type:
        cls.name = name
        RUNTIMES[name] = cls
        return cls

    return register


def check_threads(threads: Optional[int], who: str) -> None:
    """One clear error unless ``threads`` is None or an int >= 1."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise DeployError(
            f'{who}: threads={threads!r}; expected an int >= 1 or None'
        )
    if threads < 1:
        raise DeployError(
            f'{who}: threads={threads}; expected an int >= 1 (or None for '
            "the runtime's default)"
        )


def describe(value) -> str:
    """What an input is, for an error: ``an array of shape (2, 3) of
    uint8``, or ``a list``."""
    if isinstance(value, np.ndarray):
        return f'an array of shape {value.shape} of {value.dtype}'
    return f'a {type(value).__name__}'


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
    #: The suffixes of the files the runtime reads, the one its exporter
    #: writes first.
    suffixes: Tuple[str, ...] = ()
    #: The precisions of the artifacts it runs (``export.py
    #: --precision``; its exporter makes these).
    precisions: Tuple[str, ...] = ()
    #: Main suffix -> the suffixes of the files that lie beside it (same
    #: stem), e.g. an OpenVINO ``.xml``'s ``.bin``.
    companions: Dict[str, Tuple[str, ...]] = {}
    #: Whether any batch runs, whatever the exported input shape says.
    any_batch = False
    #: Whether its exporter can leave the batch axis free (``export.py
    #: --dynamic-batch``); otherwise the artifact takes ``--batch`` images.
    dynamic_batch = True
    #: Whether the runtime's own object may run calls from several threads
    #: at once (ONNX Runtime's session may); otherwise calls take turns.
    thread_safe = False

    def __init__(self, file: str, threads=None, **options) -> None:
        check_artifact_file(type(self), file)
        check_threads(threads, self.name)
        self.file = file
        self.threads = threads
        self.options = options

    @property
    def input_shape(self) -> tuple:
        """(N, 3, H, W); a free axis is named (e.g. ``'batch'``)."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray) -> List[np.ndarray]:
        """Float32 (N, 3, H, W) images -> the model's outputs, float32;
        images of another shape get one error naming the expected one.
        Safe to call from several threads (calls take turns unless the
        runtime runs them concurrently itself)."""
        images = self.check_images(images)
        if self.thread_safe:
            return self.run(images)
        # One request (OpenVINO), interpreter (LiteRT) or module
        # (ExecuTorch) serves every call: two threads at once would
        # overwrite each other's input and read each other's output.
        # (setdefault: one lock, even when two threads make one at once.)
        with self.__dict__.setdefault('_turns', threading.Lock()):
            return self.run(images)

    def run(self, images: np.ndarray) -> List[np.ndarray]:
        """:meth:`__call__` on checked images."""
        raise NotImplementedError

    def expected_shape(self) -> Optional[tuple]:
        """The shape :meth:`check_images` holds images to (None: only
        that they are (N, 3, H, W))."""
        return tuple(self.input_shape)

    def check_images(self, images) -> np.ndarray:
        """``images`` as a float32 array, or one error naming the shape the
        artifact takes."""
        if '_expected' not in self.__dict__:
            self._expected = self.expected_shape()
        expected = self._expected or ('N', 3, 'H', 'W')
        form = 'x'.join(str(d) for d in expected)
        shape = getattr(images, 'shape', None)
        floating = isinstance(images, np.ndarray) and np.issubdtype(
            images.dtype, np.floating
        )
        if not floating or len(shape) != 4 or shape[0] < 1:
            got = describe(images)
            raise DeployError(
                f'{self.name}: {self.file} takes a float32 numpy array of '
                f'shape {form} (N, 3, H, W: normalised images, N >= 1); '
                f'got {got}'
            )
        for axis, (got, want) in enumerate(zip(shape, expected)):
            if axis == 0 and self.any_batch:
                continue
            if isinstance(want, int) and got != want:
                raise DeployError(
                    f'{self.name}: {self.file} takes images of shape {form}'
                    f' (N, 3, H, W; the shape it was exported for); got '
                    f'{"x".join(str(d) for d in shape)}'
                )
        return np.ascontiguousarray(images, dtype=np.float32)


def readers_of(suffix: str) -> List[str]:
    """The names of the runtimes that read files ending in ``suffix``."""
    return [n for n, c in sorted(RUNTIMES.items()) if suffix in c.suffixes]


def check_artifact_file(runtime: Type[Runtime], file: str) -> None:
    """One clear error unless ``file`` is a file of a kind ``runtime``
    reads, with the files that lie beside it."""
    name = runtime.name
    if not os.path.isfile(file):
        found = 'is a folder' if os.path.isdir(file) else 'not found'
        raise FileNotFoundError(
            f'{name}: model file {file} {found}; expected an artifact '
            'written by tools/deploy/export.py'
        )
    suffix = os.path.splitext(file)[1].lower()
    if runtime.suffixes and suffix not in runtime.suffixes:
        others = readers_of(suffix)
        hint = f' (a file for {" or ".join(others)})' if others else ''
        raise DeployError(
            f'{name}: {file}{hint} is not a model it runs; expected a '
            f'{" or ".join(runtime.suffixes)} file'
        )
    stem = os.path.splitext(file)[0]
    for companion in runtime.companions.get(suffix, ()):
        path = stem + companion
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f'{name}: {path} not found beside {file}; expected the '
                f'{companion} file export.py writes with it (its weights)'
            )
