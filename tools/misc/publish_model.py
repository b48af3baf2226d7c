"""Publish a checkpoint: weights and meta in plain types, sha256 in the name.

    python tools/misc/publish_model.py work_dirs/x/epoch_210.pth out.pth

writes ``out-<first 8 hex digits of its sha256>.pth`` without the training
state (optimizer, schedulers, message hub), loadable by
``torch.load(weights_only=True)`` and the inferencers in a process that
never imported litehrnet_mm; the last line printed is its path.
"""

import argparse

from litehrnet_mm.publish import publish_checkpoint
from litehrnet_mm.utils.cli import description, run_tool


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('in_file', help='checkpoint written by mim train')
    parser.add_argument(
        'out_file', help='output path; the sha256 prefix goes before .pth'
    )
    args = parser.parse_args(argv)
    print(publish_checkpoint(args.in_file, args.out_file))


if __name__ == '__main__':
    run_tool(main)
