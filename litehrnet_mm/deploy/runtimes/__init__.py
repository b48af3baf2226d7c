"""Running an exported model: every runtime behind one call.

``load_runtime(file)`` compiles any artifact that ``tools/deploy/export.py``
wrote, with the runtime and the options its metadata names; each runtime
takes float32 (N, 3, H, W) numpy images and returns a list of numpy
outputs, so the inference tool, the benchmark and the tests treat them
alike. One file per runtime; each imports its library only when a model
is loaded.
"""

import os
from typing import Optional

from litehrnet_mm.errors import DeployError, LiteHRNetError

from ..artifact import metadata_file, read_metadata
from . import (  # noqa: F401  (they register)
    executorch,
    litert,
    ncnn,
    onnxruntime,
    openvino,
)
from .base import RUNTIMES, Runtime, readers_of, register_runtime
from .onnxruntime import OrtRuntime
from .openvino import OpenVINORuntime

__all__ = [
    'RUNTIMES',
    'OpenVINORuntime',
    'OrtRuntime',
    'Runtime',
    'load_runtime',
    'runtime_of',
    'register_runtime',
]

#: The runtime of a file without metadata, by its suffix (the one its
#: exporter writes).
_BY_SUFFIX = {cls.suffixes[0]: name for name, cls in RUNTIMES.items()}


def runtime_of(file: str, meta: Optional[dict] = None) -> Optional[str]:
    """The runtime ``file`` was exported for: the one its metadata names
    (``meta``, read beside ``file`` when not given), else the one its
    suffix implies; None when neither says."""
    if meta is None:
        meta = read_metadata(file) if os.path.isfile(file) else {}
    suffix = os.path.splitext(file)[1].lower()
    return meta.get('runtime') or _BY_SUFFIX.get(suffix)


def load_runtime(
    file: str, runtime: Optional[str] = None, threads: Optional[int] = None
) -> Runtime:
    """The artifact ``file`` compiled by ``runtime``.

    Args:
        file (str): An artifact of ``tools/deploy/export.py`` (or a plain
            ``.onnx`` / OpenVINO ``.xml`` file).
        runtime (str, optional): A name in :data:`RUNTIMES`. Defaults to
            the runtime the artifact was exported for, else the one its
            suffix implies. A runtime other than the artifact's (e.g.
            OpenVINO on an ``.onnx`` file) runs it with that runtime's
            defaults.
        threads (int, optional): Compute threads.
    """
    if os.path.isdir(file):
        raise DeployError(
            f'load_runtime: {file} is a folder; expected an artifact file '
            'written by tools/deploy/export.py (e.g. model.xml)'
        )
    meta = read_metadata(file) if os.path.isfile(file) else {}
    made_for = runtime_of(file, meta)
    runtime = runtime or made_for
    if runtime is None and not os.path.isfile(file):
        # Nothing names its runtime because it is not there (its metadata
        # may be, beside it): say so, not that the runtime is unknown.
        raise FileNotFoundError(
            f'load_runtime: {file} not found; expected an artifact written '
            'by tools/deploy/export.py'
        )
    if runtime is None:
        kind = os.path.splitext(file)[1] or 'files without a suffix'
        theirs = ', '.join(sorted(_BY_SUFFIX))
        raise DeployError(
            f'load_runtime: {file} is not an artifact: no '
            f'{metadata_file(file)} beside it names its runtime, and no '
            f'runtime reads {kind} (they read {theirs}); expected an '
            'artifact written by tools/deploy/export.py'
        )
    if runtime not in RUNTIMES:
        raise DeployError(
            f'runtime={runtime!r} for {file}; expected one of '
            f'{", ".join(sorted(RUNTIMES))}'
        )
    check_metadata(file, meta)
    chosen = RUNTIMES[runtime]
    suffix = os.path.splitext(file)[1].lower()
    if (
        runtime == meta.get('runtime')
        and chosen.suffixes
        and (suffix not in chosen.suffixes)
    ):
        # Its sidecar names a runtime that cannot read it (copied from
        # another artifact): say so, not that the runtime was asked for.
        readers = readers_of(suffix)
        theirs = f' ({" or ".join(readers)} does)' if readers else ''
        raise DeployError(
            f'{metadata_file(file)}: runtime {runtime!r}, which does not '
            f'read {suffix or "files without a suffix"} files{theirs}; '
            f'expected the metadata export.py wrote with '
            f'{os.path.basename(file)}'
        )
    options = meta.get('runtime_options', {}) if runtime == made_for else {}
    try:
        return RUNTIMES[runtime](file, threads, **options)
    except (LiteHRNetError, OSError, ImportError):
        raise
    except Exception as e:
        # The runtime's own words on a file it cannot read (truncated, of
        # another kind), in one line.
        raise DeployError(
            f'{runtime}: cannot load {file} ({first_words(e)}); expected '
            f'an artifact written by tools/deploy/export.py --runtime '
            f'{runtime}'
        ) from e


def check_metadata(file: str, meta: dict) -> None:
    """One clear error when the metadata of ``file`` names a runtime or a
    precision that does not exist (a sidecar edited by hand)."""
    made_for, precision = meta.get('runtime'), meta.get('precision')
    where = metadata_file(file)
    if made_for is not None and made_for not in RUNTIMES:
        raise DeployError(
            f'{where}: runtime {made_for!r}; expected one of '
            f'{", ".join(sorted(RUNTIMES))} (the metadata export.py writes)'
        )
    known = RUNTIMES[made_for].precisions if made_for else ()
    if precision is not None and known and precision not in known:
        raise DeployError(
            f'{where}: precision {precision!r} for {made_for}; expected one '
            f'of {", ".join(known)} (the metadata export.py writes)'
        )


def first_words(error: Exception, limit: int = 240) -> str:
    """The informative lines of a runtime's error message, in one line:
    without the source locations OpenVINO puts first."""
    lines = [
        line.strip()
        for line in str(error).splitlines()
        if line.strip() and not line.strip().startswith('Exception from')
    ]
    text = ' '.join(lines) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + '...'
