"""What an exported model carries: its metadata, in a file beside it.

Every artifact ``FILE`` that ``tools/deploy/export.py`` writes gets
``FILE.json``: what inference needs (task, normalisation, keypoints and
skeleton or classes and palette), the runtime and precision it was made
for, the options that runtime must be given to run it as intended
(``runtime_options``), its input shape and how close it came to PyTorch.
A sidecar serves every runtime alike (ncnn's and OpenVINO's files have no
place for it); ONNX files also hold it inside, so a lone ``.onnx`` file
keeps it. An OpenVINO IR also names the inference precision it was made
for inside (:data:`IR_HINT`), so a ``.xml`` copied without its sidecar
still runs as intended in :func:`~litehrnet_mm.deploy.load_runtime`.
"""

import json
import os
from typing import Dict, Optional

import numpy as np

from litehrnet_mm.errors import DeployError

__all__ = [
    'IR_HINT',
    'ir_precision',
    'metadata_file',
    'plain',
    'read_metadata',
    'read_onnx_metadata',
    'save_ir',
    'write_metadata',
]


def metadata_file(file: str) -> str:
    """Where the metadata of the artifact ``file`` lives."""
    return file + '.json'


def plain(value):
    """``value`` with numpy scalars and arrays turned into Python ones."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_metadata(file: str, meta: Dict[str, object]) -> str:
    """Write ``meta`` beside ``file``; returns the metadata file."""
    path = metadata_file(file)
    with open(path, 'w') as f:
        json.dump(plain(meta), f, indent=1)
    return path


def read_metadata(file: str) -> Dict[str, object]:
    """The metadata of the artifact ``file``: its sidecar, else (an
    ``.onnx`` file) what the file holds inside, else ``{}``."""
    path = metadata_file(file)
    if os.path.isfile(path):
        try:
            with open(path) as f:
                meta = json.load(f)
        except ValueError as e:
            raise DeployError(
                f'{path}: not readable as JSON ({e}); expected the '
                'metadata that tools/deploy/export.py writes beside '
                f'{os.path.basename(file)}'
            ) from None
        if not isinstance(meta, dict):
            raise DeployError(
                f'{path}: holds a {type(meta).__name__}; expected a JSON '
                'object (the metadata tools/deploy/export.py writes)'
            )
        return meta
    if file.lower().endswith('.onnx'):
        return read_onnx_metadata(file)
    return {}


def read_onnx_metadata(file: str) -> Dict[str, object]:
    """The ``litehrnet_mm`` metadata held inside the ``.onnx`` file
    ``file`` (``{}`` without)."""
    import onnx

    try:
        graph = onnx.load(file, load_external_data=False)
    except Exception as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DeployError(
            f'{file}: not readable as an ONNX model ({first}); expected an '
            'artifact written by tools/deploy/export.py'
        ) from e
    for entry in graph.metadata_props:
        if entry.key == 'litehrnet_mm':
            return json.loads(entry.value)
    return {}


#: Where an IR names the inference precision it was made for: the
#: ``runtime_options`` of its ``rt_info``, where OpenVINO keeps the options
#: a model is to run with.
IR_HINT = ('runtime_options', 'INFERENCE_PRECISION_HINT')


def ir_precision(model) -> Optional[str]:
    """The inference precision ``model`` (an ``openvino.Model``) names in
    its ``rt_info`` (:data:`IR_HINT`), or None."""
    if not model.has_rt_info(list(IR_HINT)):
        return None
    return model.get_rt_info(list(IR_HINT)).astype(str)


def save_ir(model, output: str, inference_precision: str) -> None:
    """Write ``model`` (an ``openvino.Model``) as the IR ``output`` with
    f32 weights, naming ``inference_precision`` in its ``rt_info``
    (:data:`IR_HINT`), which the OpenVINO runtime follows when no metadata
    file names one (without it a bf16 artifact copied without its ``.json``
    ran in f32)."""
    import openvino as ov

    model.set_rt_info(inference_precision, list(IR_HINT))
    ov.save_model(model, output, compress_to_fp16=False)
