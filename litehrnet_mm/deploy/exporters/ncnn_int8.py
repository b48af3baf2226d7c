"""Post-training int8 quantization of an fp32 ncnn model, as ncnn's own
ncnn2table + ncnn2int8 tools do it (they are not in the pip wheels).

Every ``Convolution`` and ``ConvolutionDepthWise`` gets int8 weights with
one scale per output channel (per group for depthwise convs), and one scale
for its input, from the largest magnitude that input reaches on the
calibration images (run through the fp32 model). The layer then quantizes
its input, multiplies in int8 and dequantizes its output; every other layer
stays fp32. In the files: ``8=1`` (``int8_scale_term``) on the layer's
line of the ``.param``, and in the ``.bin`` the weights as int8 (tag
``0x000D4B38``, padded to 4 bytes), the bias as before, then the weight
scales and the input scale (raw float32).

With Lite-HRNet's int8 design (:func:`fp32_layers`, as
:func:`litehrnet_mm.deploy.quantize.fp32_convs` picks them in the ONNX
graph), the depthwise convs, the conv on the image and the weightings'
convs on pooled maps stay fp32. The depthwise convs matter most: ncnn
quantizes a conv's input with one scale for all its channels, and the
depthwise convs read the weighted halves of the branches (no ReLU before
them) whose channels span very different ranges; on the pose demo of
2026-12-05 quantizing them too took its AP from 0.68 to 0.22.
"""

import struct
from typing import Collection, Dict, List, Tuple

import numpy as np

from litehrnet_mm.errors import LiteHRNetError

QUANTIZED = ('Convolution', 'ConvolutionDepthWise')
#: Layers with weights in the ``.bin`` that this tool can walk over.
WEIGHTED = QUANTIZED + ('InnerProduct', 'Deconvolution', 'MemoryData')
#: Layers with no weights (what pnnx writes for Lite-HRNet and its peers).
WEIGHTLESS = {
    'Input',
    'Split',
    'Slice',
    'Concat',
    'Pooling',
    'Interp',
    'BinaryOp',
    'UnaryOp',
    'Sigmoid',
    'ReLU',
    'Clip',
    'HardSwish',
    'HardSigmoid',
    'Swish',
    'Reshape',
    'Permute',
    'ShuffleChannel',
    'Crop',
    'Eltwise',
    'Noop',
    'Flatten',
    'MatMul',
    'Softmax',
    'Padding',
    'Dropout',
    'ExpandDims',
    'Squeeze',
    'Reduction',
    'Tile',
    'GELU',
    'PixelShuffle',
}
TAG_FP32, TAG_FP16, TAG_INT8 = 0x00000000, 0x01306B47, 0x000D4B38


class Layer:
    """One line of a ``.param`` file."""

    def __init__(self, line: str) -> None:
        fields = line.split()
        self.type, self.name = fields[0], fields[1]
        nb, nt = int(fields[2]), int(fields[3])
        self.bottoms = fields[4 : 4 + nb]
        self.tops = fields[4 + nb : 4 + nb + nt]
        self.params: Dict[int, str] = {}
        for item in fields[4 + nb + nt :]:
            key, value = item.split('=', 1)
            self.params[int(key)] = value

    def get(self, key: int, default: int = 0) -> int:
        return int(float(self.params.get(key, default)))

    def line(self) -> str:
        fields = [
            self.type,
            self.name,
            str(len(self.bottoms)),
            str(len(self.tops)),
            *self.bottoms,
            *self.tops,
            *(f'{k}={v}' for k, v in self.params.items()),
        ]
        return ' '.join(fields)


def read_param(file: str) -> Tuple[List[str], List[Layer]]:
    with open(file) as f:
        lines = [ln for ln in f.read().split('\n') if ln.strip()]
    return lines[:2], [Layer(ln) for ln in lines[2:]]


def _read_weights(buf: bytes, pos: int, count: int):
    """A tagged weight blob (ncnn's ``ModelBin::load(w, 0)``): float32 or
    float16 values; returns (float32 array, next position)."""
    (tag,) = struct.unpack_from('<I', buf, pos)
    pos += 4
    if tag == TAG_FP32:
        data = np.frombuffer(buf, np.float32, count, pos)
        return data.copy(), pos + 4 * count
    if tag == TAG_FP16:
        data = np.frombuffer(buf, np.float16, count, pos)
        return data.astype(np.float32), pos + (2 * count + 3) // 4 * 4
    raise LiteHRNetError(
        f'ncnn int8: weight blob with tag {tag:#010x} at byte {pos - 4}; '
        'expected the fp32 or fp16 weights pnnx writes'
    )


def _raw(buf: bytes, pos: int, count: int):
    data = np.frombuffer(buf, np.float32, count, pos)
    return data.copy(), pos + 4 * count


def _blob_sizes(layer: Layer) -> Tuple[int, int]:
    """(tagged weight count, raw float count after it) of a weighted
    layer."""
    if layer.type == 'MemoryData':
        dims = [layer.get(k) for k in (0, 1, 11, 2)]
        return 0, int(np.prod([d for d in dims if d]))
    num_output = layer.get(0)
    weights = layer.get(6) if layer.type != 'InnerProduct' else layer.get(2)
    bias = (
        num_output
        if layer.get(5 if layer.type != 'InnerProduct' else 1)
        else 0
    )
    return weights, bias


def fp32_layers(layers: List[Layer]) -> List[str]:
    """Names of the convs that Lite-HRNet's int8 design keeps in fp32
    (:func:`litehrnet_mm.deploy.quantize.fp32_convs` in ncnn's graph, where
    pnnx has renamed the layers): the depthwise convs (one input channel
    per group), the convs on the graph input, and the convs on pooled maps,
    found by what they compute: a 1x1 conv with a fused sigmoid (the
    weighting's second conv) and the conv that feeds it (its first)."""
    inputs = {top for ly in layers if ly.type == 'Input' for top in ly.tops}
    sigmoid_inputs = {
        ly.bottoms[0]
        for ly in layers
        if ly.type in QUANTIZED and ly.get(9) == 4
    }
    keep = []
    for ly in layers:
        if ly.type not in QUANTIZED:
            continue
        area = ly.get(1) * ly.get(11, ly.get(1))
        depthwise = (
            ly.type == 'ConvolutionDepthWise'
            and ly.get(6) == ly.get(7, 1) * area
            and ly.get(0) == ly.get(7, 1)
        )
        if (
            depthwise
            or ly.bottoms[0] in inputs
            or ly.get(9) == 4
            or ly.tops[0] in sigmoid_inputs
        ):
            keep.append(ly.name)
    return keep


def quantize_ncnn(
    param: str,
    weights: str,
    blob_ranges: Dict[str, float],
    out_param: str,
    out_weights: str,
    keep_fp32: Collection[str] = (),
) -> Dict[str, int]:
    """Write the int8 model of ``param``/``weights``; ``blob_ranges`` maps
    each quantized layer's input blob to the largest magnitude it reached
    on the calibration images, and the layers named in ``keep_fp32`` stay
    fp32. Returns ``{layer type: count quantized}``."""
    header, layers = read_param(param)
    with open(weights, 'rb') as f:
        buf = f.read()
    pos, out = 0, bytearray()
    counts: Dict[str, int] = {}
    for layer in layers:
        if layer.type in WEIGHTLESS:
            continue
        if layer.type not in WEIGHTED:
            raise LiteHRNetError(
                f'ncnn int8: layer {layer.name} of type {layer.type} is not '
                f'known to this tool (known: {", ".join(WEIGHTED)} with '
                'weights, and the weightless ones)'
            )
        tagged, raw = _blob_sizes(layer)
        start = pos
        if tagged:
            w, pos = _read_weights(buf, pos, tagged)
        if raw:
            bias, pos = _raw(buf, pos, raw)
        if (
            layer.type not in QUANTIZED
            or layer.bottoms[0] not in blob_ranges
            or layer.name in keep_fp32
        ):
            out += buf[start:pos]
            continue
        groups = (
            layer.get(7, 1)
            if layer.type == 'ConvolutionDepthWise'
            else layer.get(0)
        )
        per = w.reshape(groups, -1)
        peak = np.abs(per).max(axis=1)
        w_scales = np.where(peak > 0, 127.0 / np.maximum(peak, 1e-30), 1.0)
        q = np.clip(np.round(per * w_scales[:, None]), -127, 127)
        q = q.astype(np.int8).reshape(-1).tobytes()
        out += struct.pack('<I', TAG_INT8) + q + b'\0' * (-len(q) % 4)
        if raw:
            out += bias.astype(np.float32).tobytes()
        x_peak = float(blob_ranges[layer.bottoms[0]])
        x_scale = 127.0 / x_peak if x_peak > 0 else 1.0
        out += w_scales.astype(np.float32).tobytes()
        out += np.float32(x_scale).tobytes()
        layer.params[8] = '1'
        counts[layer.type] = counts.get(layer.type, 0) + 1
    if pos != len(buf):
        raise LiteHRNetError(
            f'ncnn int8: read {pos} of the {len(buf)} bytes of {weights}; '
            'the weights do not match the layers of the .param'
        )
    with open(out_weights, 'wb') as f:
        f.write(bytes(out))
    with open(out_param, 'w') as f:
        f.write('\n'.join(header + [ln.line() for ln in layers]) + '\n')
    return counts


def calibration_ranges(
    runtime, images: List[np.ndarray], param: str
) -> Dict[str, float]:
    """The largest magnitude each quantized layer's input blob reaches on
    ``images`` (each (1, 3, H, W)), run by ``runtime`` (an fp32
    :class:`~litehrnet_mm.deploy.runtimes.ncnn.NcnnRuntime`)."""
    _, layers = read_param(param)
    # In the order the layers make them: ncnn frees a blob once its readers
    # have run (light mode), and asking for it after that crashes.
    made = [top for ly in layers for top in ly.tops]
    wanted = {ly.bottoms[0] for ly in layers if ly.type in QUANTIZED}
    blobs = [b for b in made if b in wanted]
    ranges = dict.fromkeys(blobs, 0.0)
    for image in images:
        for blob, value in zip(blobs, runtime.extract(image[0], blobs)):
            ranges[blob] = max(ranges[blob], float(np.abs(value).max()))
    return ranges
