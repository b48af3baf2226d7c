"""Publish a checkpoint: weights and meta in plain types, sha256 in the name.

    python tools/misc/publish_model.py work_dirs/x/epoch_210.pth out.pth

writes ``out-<first 8 hex digits of its sha256>.pth`` without the training
state (optimizer, schedulers, message hub), loadable by
``torch.load(weights_only=True)`` and the inferencers in a process that
never imported litehrnet_mm; the last line printed is its path.
"""

import argparse
import sys

from litehrnet_mm.publish import PublishError, publish_checkpoint
from litehrnet_mm.utils.cli import description


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('in_file', help='checkpoint written by mim train')
    parser.add_argument(
        'out_file', help='output path; the sha256 prefix goes before .pth'
    )
    args = parser.parse_args(argv)
    try:
        final = publish_checkpoint(args.in_file, args.out_file)
    except PublishError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(final)
    return 0


if __name__ == '__main__':
    sys.exit(main())
