"""How the tools end on bad input: one line naming the problem.

A tool's ``main(argv)`` raises the package's errors (a
:class:`~litehrnet_mm.errors.LiteHRNetError`, or an ``OSError`` naming a
path: a missing file, a folder that cannot be written); run from the
command line through :func:`run_tool`, such an error ends it with
``<tool>: error: <message>`` on stderr and exit status 2, as argparse
ends a bad argument, instead of a traceback. Anything else (a defect)
keeps its traceback. ``LITEHRNET_MM_TRACEBACK=1`` keeps every traceback.
The argparse helpers below turn bad arguments into argparse's own one-line
errors before any work.
"""

import argparse
import os
import sys
from typing import Callable, Optional, Sequence

from ..errors import LiteHRNetError

#: The errors that are the input's, not the code's.
INPUT_ERRORS = (LiteHRNetError, OSError)


def run_tool(
    main: Callable[[Optional[Sequence[str]]], object],
    argv: Optional[Sequence[str]] = None,
) -> None:
    """Run ``main(argv)``; an input error exits with one line (status
    2)."""
    try:
        main(argv)
    except INPUT_ERRORS as e:
        if os.environ.get('LITEHRNET_MM_TRACEBACK'):
            raise
        prog = os.path.basename(sys.argv[0]) or 'litehrnet_mm'
        print(f'{prog}: error: {e}', file=sys.stderr)
        raise SystemExit(2) from None


def description(doc: str) -> str:
    """A tool's ``--help`` description: the first paragraph of its module
    docstring, in one line."""
    first = (doc or '').strip().split('\n\n')[0]
    return ' '.join(first.split())


def positive_int(text: str) -> int:
    """argparse ``type``: an int >= 1 (threads, images, sizes)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r}; expected an int >= 1')
    return value


def fraction(text: str) -> float:
    """argparse ``type``: a number in [0, 1] (a score threshold)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(
            f'{text!r}; expected a number in [0, 1]'
        )
    return value


class CfgOptions(argparse.Action):
    """``--cfg-options KEY=VALUE ...``, parsed by mmengine's
    ``DictAction``; an option without ``=`` is argparse's one-line error
    instead of a traceback."""

    def __init__(self, *args, **kwargs) -> None:
        from mmengine.config import DictAction

        super().__init__(*args, **kwargs)
        self._parse = DictAction(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        for value in values:
            if '=' not in value:
                parser.error(
                    f'{option_string} {value}: expected KEY=VALUE (e.g. '
                    'model.backbone.arch=30)'
                )
        try:
            self._parse(parser, namespace, values, option_string)
        except ValueError as e:
            parser.error(f'{option_string} {" ".join(values)}: {e}')


def positive_float(text: str) -> float:
    """argparse ``type``: a number > 0 (a tolerance, seconds)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f'{text!r}; expected a number > 0')
    return value
