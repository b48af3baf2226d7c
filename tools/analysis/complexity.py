"""Parameters, FLOPs (the torchstat convention of the paper's table) and
real conv MACs of the model of an mmpose or mmseg config, or of a
Lite-HRNet preset with a 1x1 heatmap head.

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
from litehrnet_mm.errors import ConfigError
from litehrnet_mm.models.backbones.litehrnet import backbones_in
from litehrnet_mm.utils.cli import (
    description,
    first_line,
    positive_int,
    run_tool,
)


def parse_args(argv=None):
    from litehrnet_mm.models.backbones.arch import ARCH_ZOO

    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('config', nargs='?', help='mmpose or mmseg config')
    parser.add_argument(
        '--arch', choices=list(ARCH_ZOO), help='a preset instead'
    )
    parser.add_argument(
        '--num-keypoints',
        type=positive_int,
        help='heatmaps of the 1x1 head with --arch (default 17 COCO; 16 MPII)',
    )
    parser.add_argument(
        '--shape', type=int, nargs='+', help='input H W (default: config)'
    )
    parser.add_argument('--json', action='store_true', help='JSON last line')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.arch is None):
        both = 'not both' if args.config else 'one of them'
        parser.error(f'give a CONFIG or --arch ({both})')
    if args.config is not None and args.num_keypoints is not None:
        parser.error(
            '--num-keypoints goes with --arch (a config has its own head)'
        )
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
        model = build_preset(args.arch, args.num_keypoints or 17)
        shape = args.shape or (256, 192)
        name = f'Lite-HRNet arch={args.arch} + 1x1 head'
    h, w = shape
    try:
        report = complexity(model, shape)
    except (RuntimeError, ValueError) as e:  # a size it cannot take
        raise ConfigError(
            f'{name}: the model does not run on an input of 1x3x{h}x{w} '
            f'({type(e).__name__}: {first_line(e)}); give a --shape it takes'
        ) from None
    ours = bool(backbones_in(model))
    print(f'{name}, input 1x3x{h}x{w}')
    print(f'  params             {report["params"] / 1e6:.3f}M')
    print(
        f'  FLOPs (official)   {report["flops_official"]:.1f}M  '
        '(torchstat rules, units of 2^20)'
    )
    if ours:
        print(
            f'  conv MACs          {report["macs"]:.1f}M  (every call, '
            '10^6, as the official code and mmpose run it)'
        )
        print(
            f'  conv MACs (ours)   {report["macs_ours"]:.1f}M  (the '
            'repeated fusion convs f_i0 run once)'
        )
    else:
        print(
            f'  conv MACs          {report["macs_ours"]:.1f}M  (every conv '
            'call, transposed ones too, 10^6)'
        )
    if args.json:
        print(json.dumps(dict(report, shape=[h, w])))


if __name__ == '__main__':
    run_tool(main)
