"""How the tools end on bad input: one line naming the problem.

A tool's ``main(argv)`` raises the package's errors (a
:class:`~litehrnet_mm.errors.LiteHRNetError`, or an ``OSError`` naming a
path: a missing file, a folder that cannot be written); run from the
command line through :func:`run_tool`, such an error ends it with
``<tool>: error: <message>`` on stderr and exit status 2, as argparse
ends a bad argument, instead of a traceback. Anything else (a defect)
keeps its traceback. ``LITEHRNET_MM_TRACEBACK=1`` keeps every traceback.
"""

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
