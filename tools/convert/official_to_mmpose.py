"""Convert an official Lite-HRNet checkpoint (mmpose 0.x layout:
``backbone.*``, ``keypoint_head.*``) to the mmpose 1.x layout
(``head.*``) that our pose configs load.

    python tools/convert/official_to_mmpose.py SRC.pth DST.pth
"""

import argparse

from litehrnet_mm.convert import convert_official_checkpoint
from litehrnet_mm.utils.cli import description, run_tool


def main(argv=None):
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='converted checkpoint to write')
    args = parser.parse_args(argv)
    ckpt = convert_official_checkpoint(args.src, args.dst)
    keys = list(ckpt['state_dict'])
    heads = [k for k in keys if k.startswith('head.')]
    print(
        f'wrote {args.dst}: {len(keys)} tensors '
        f'({len(keys) - len(heads)} backbone, {len(heads)} head)'
    )


if __name__ == '__main__':
    run_tool(main)
