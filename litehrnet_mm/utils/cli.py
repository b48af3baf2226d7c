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
import math
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


def first_line(error: Exception, limit: int = 300) -> str:
    """An error's first line, shortened (an ONNX export error carries the
    whole traced graph)."""
    lines = str(error).strip().splitlines() or ['']
    return lines[0][:limit]


def description(doc: str) -> str:
    """A tool's ``--help`` description: the first paragraph of its module
    docstring, in one line."""
    first = (doc or '').strip().split('\n\n')[0]
    return ' '.join(first.split())


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


def argument_type(
    convert: Callable[[str], float],
    accept: Callable[[float], bool],
    expected: str,
) -> Callable[[str], float]:
    """An argparse ``type``: ``convert(text)`` when ``accept`` takes it,
    else argparse's one-line error ``'<text>'; expected <expected>``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f'{text!r}; expected {expected}')
        return value

    return parse


#: An int >= 1 (threads, images, sizes, rounds).
positive_int = argument_type(int, lambda v: v >= 1, 'an int >= 1')
#: An int >= 0 (a number of pictures to draw).
count = argument_type(int, lambda v: v >= 0, 'an int >= 0')
#: ``KEY=VALUE`` kept as text (a config override passed on to mim).
key_value = argument_type(
    str, lambda v: '=' in v, 'KEY=VALUE (e.g. model.backbone.arch=30)'
)
#: A finite number > 0 (a tolerance, seconds).
positive_float = argument_type(
    float, lambda v: math.isfinite(v) and v > 0, 'a finite number > 0'
)
#: A finite number >= 0 (seconds of pause).
seconds = argument_type(
    float,
    lambda v: math.isfinite(v) and v >= 0,
    'seconds, a finite number >= 0',
)
#: A number in [0, 1] (a score threshold).
fraction = argument_type(float, lambda v: 0 <= v <= 1, 'a number in [0, 1]')
