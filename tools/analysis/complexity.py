"""Parameters, FLOPs (official torchstat convention) and real conv MACs of
a Lite-HRNet model, next to the official table.

    python tools/analysis/complexity.py CONFIG [--shape H W] [--json]
    python tools/analysis/complexity.py --arch 18 [--shape H W] [--json]
"""

import argparse
import json

from litehrnet_mm.analysis.complexity import complexity
from litehrnet_mm.analysis.models import (
    build_from_config,
    build_preset,
    default_shape,
    parse_shape,
)
from litehrnet_mm.utils.cli import description, positive_int, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('config', nargs='?', help='mmpose or mmseg config')
    parser.add_argument(
        '--arch', help="a preset ('18', '30', 'naive-18', ...) instead"
    )
    parser.add_argument(
        '--num-keypoints',
        type=positive_int,
        default=17,
        help='heatmaps of the 1x1 head with --arch (17 COCO, 16 MPII)',
    )
    parser.add_argument(
        '--shape', type=int, nargs='+', help='input H W (default: config)'
    )
    parser.add_argument('--json', action='store_true', help='JSON last line')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.arch is None):
        both = 'not both' if args.config else 'one of them'
        parser.error(f'give a CONFIG or --arch ({both})')
    try:
        args.shape = parse_shape(args.shape)
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.config is not None:
        model = build_from_config(args.config)
        shape = args.shape or default_shape(args.config)
        name = args.config
    else:
        model = build_preset(args.arch, args.num_keypoints)
        shape = args.shape or (256, 192)
        name = f'Lite-HRNet arch={args.arch} + 1x1 head'
    report = complexity(model, shape)
    h, w = shape
    print(f'{name}, input 1x3x{h}x{w}')
    print(f'  params             {report["params"] / 1e6:.3f}M')
    print(
        f'  FLOPs (official)   {report["flops_official"]:.1f}M  '
        '(torchstat rules, units of 2^20)'
    )
    print(
        f'  conv MACs          {report["macs"]:.1f}M  (every call, 10^6, '
        'as the official code and mmpose run it)'
    )
    print(
        f'  conv MACs (ours)   {report["macs_ours"]:.1f}M  (the repeated '
        'fusion convs f_i0 run once)'
    )
    if args.json:
        print(json.dumps(report))


if __name__ == '__main__':
    run_tool(main)
