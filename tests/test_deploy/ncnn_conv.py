"""A hand-written ncnn model, so that the tests of the ncnn runtime and of
its int8 quantizer need no pnnx conversion: ``Input`` -> ``Convolution``
(3x3, padding 1, with bias) -> ``ReLU``, on 3-channel images."""

import struct

import numpy as np
import torch
import torch.nn.functional as F

IN_CHANNELS, OUT_CHANNELS = 3, 4


def conv_weights(seed=0):
    """(weight (O, I, 3, 3), bias (O,)), float32."""
    g = np.random.default_rng(seed)
    weight = g.normal(size=(OUT_CHANNELS, IN_CHANNELS, 3, 3))
    return weight.astype(np.float32), g.normal(size=OUT_CHANNELS).astype(
        np.float32
    )


def write_conv_model(folder, seed=0):
    """``folder/conv.param`` and its ``.bin`` (fp32 weights); returns
    (param, weight, bias)."""
    weight, bias = conv_weights(seed)
    param = str(folder / 'conv.param')
    layers = [
        'Input in0 0 1 in0',
        f'Convolution conv 1 1 in0 c0 0={OUT_CHANNELS} 1=3 4=1 5=1 '
        f'6={weight.size}',
        'ReLU relu 1 1 c0 out0',
    ]
    with open(param, 'w') as f:
        f.write('\n'.join(['7767517', f'{len(layers)} 3', *layers]) + '\n')
    with open(param[: -len('.param')] + '.bin', 'wb') as f:
        f.write(struct.pack('<I', 0) + weight.tobytes() + bias.tobytes())
    return param, weight, bias


def conv_relu(image, weight, bias):
    """What the model computes on one (3, H, W) image, in float64."""
    x = torch.from_numpy(image).double()[None]
    w = torch.from_numpy(weight).double()
    b = torch.from_numpy(bias).double()
    return F.relu(F.conv2d(x, w, b, padding=1))[0].numpy()
