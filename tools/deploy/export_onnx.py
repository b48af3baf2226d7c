"""Export a Lite-HRNet pose or segmentation model (its backbone in deploy
form) to ONNX with static shapes, and check it against ONNX Runtime.

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT --shape H W \\
        --output FILE [--batch 1] [--dynamic-batch] [--opset 17] \\
        [--atol 1e-4]

CHECKPOINT may be ``none`` to export randomly initialised weights. The file
carries what ``tools/deploy/infer.py`` needs (task, normalisation,
keypoints and skeleton or classes and palette). Static shapes are the fast
form; ``--dynamic-batch`` leaves the batch free (the same nodes, a little
slower: the runtimes plan fixed shapes better).
"""

import argparse
import sys

from mmengine.config import Config

from litehrnet_mm.analysis.models import (
    build_from_config,
    default_shape,
    parse_shape,
)
from litehrnet_mm.deploy.onnx import export_onnx
from litehrnet_mm.deploy.predict import deploy_metadata


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="a .pth file, or 'none'")
    parser.add_argument('--shape', type=int, nargs='+')
    parser.add_argument('--output', required=True)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--dynamic-batch', action='store_true')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--atol', type=float, default=1e-4)
    args = parser.parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    cfg = Config.fromfile(args.config)
    model = build_from_config(cfg, checkpoint)
    shape = parse_shape(args.shape) or default_shape(cfg)
    diff = export_onnx(
        model,
        shape,
        args.output,
        batch=args.batch,
        dynamic_batch=args.dynamic_batch,
        opset=args.opset,
        metadata=deploy_metadata(cfg),
    )
    ok = diff <= args.atol
    batch = 'dynamic N' if args.dynamic_batch else f'N={args.batch}'
    print(
        f'exported {args.config} ({model.task}, input Nx3x{shape[0]}x'
        f'{shape[1]}, {batch}) to {args.output}; ONNX Runtime vs PyTorch '
        f'max abs diff {diff:.3e} ({"ok" if ok else "FAILED"}, atol '
        f'{args.atol:g})'
    )
    if not ok:
        sys.exit(1)


if __name__ == '__main__':
    main()
