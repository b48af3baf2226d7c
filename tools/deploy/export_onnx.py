"""Export a Lite-HRNet pose or segmentation model (its backbone in deploy
form) to ONNX with a dynamic batch axis, and check it against ONNX Runtime.

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT --shape H W \\
        --output FILE [--opset 17] [--atol 1e-4]

CHECKPOINT may be ``none`` to export randomly initialised weights.
"""

import argparse
import sys

from litehrnet_mm.analysis.models import (
    build_from_config,
    default_shape,
    parse_shape,
)
from litehrnet_mm.deploy.onnx import export_onnx


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="a .pth file, or 'none'")
    parser.add_argument('--shape', type=int, nargs='+')
    parser.add_argument('--output', required=True)
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--atol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = build_from_config(args.config, checkpoint)
    shape = parse_shape(args.shape) or default_shape(args.config)
    diff = export_onnx(model, shape, args.output, opset=args.opset)
    ok = diff <= args.atol
    print(
        f'exported {args.config} ({model.task}, input Nx3x{shape[0]}x'
        f'{shape[1]}, dynamic N) to {args.output}; ONNX Runtime vs PyTorch '
        f'max abs diff {diff:.3e} ({"ok" if ok else "FAILED"}, atol '
        f'{args.atol:g})'
    )
    if not ok:
        sys.exit(1)


if __name__ == '__main__':
    main()
