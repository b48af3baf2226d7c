"""Steady-state timing of several candidates in one process.

How a candidate is timed matters more than it seems on a small CPU:

* one call per candidate in a rotating order bills each candidate for the
  one before it: ONNX Runtime's and OpenVINO's worker threads keep spinning
  for a while after a run, and the caches hold the previous model's data;
* so each candidate runs a *block* of consecutive calls after its own
  warm-up, the blocks of all candidates are interleaved over rounds (a burst
  of load from other processes touches every candidate alike), a pause
  before each block lets the previous runtime's threads go idle, and the
  figure kept is the median over rounds of the time per call in a block;
* a candidate may run in a process of its own (the benchmark tool does
  that): ONNX Runtime's and OpenVINO's thread pools slow PyTorch's
  OpenMP threads in the same process down by half or more.
"""

import math
import statistics
import time
from typing import Callable, Dict, List, NamedTuple, Optional

#: Runs ``n`` consecutive calls and returns the seconds they took.
Block = Callable[[int], float]


class Timing(NamedTuple):
    """Seconds per call: the median over rounds, and the fastest and
    slowest round (their spread says how quiet the machine was)."""

    median: float
    low: float
    high: float
    calls_per_block: int


def local_block(fn: Callable[[], object]) -> Block:
    """A :data:`Block` that calls ``fn`` in this process."""

    def block(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start

    return block


def time_blocks(
    candidates: Dict[str, Block],
    rounds: int = 5,
    block_seconds: float = 0.5,
    min_calls: int = 3,
    pause: float = 0.2,
    warmup: int = 3,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, Timing]:
    """Time every candidate in blocks of consecutive calls, interleaved.

    Args:
        candidates: ``name -> block``; ``block(n)`` runs ``n`` calls and
            returns the seconds they took (:func:`local_block`, or a
            worker process timing itself).
        rounds: Blocks per candidate; the median over them is reported.
        block_seconds: Each block lasts about this long (at least
            ``min_calls`` calls), sized from the warm-up.
        min_calls: Fewest calls in a block.
        pause: Seconds of idle before each block.
        warmup: Calls before the first block (not timed, except to size
            the blocks).
        log: Progress lines, if given.

    Returns:
        ``name -> Timing`` in the order of ``candidates``.
    """
    if not candidates:
        raise ValueError('time_blocks: no candidates to time')
    if rounds < 1 or min_calls < 1:
        raise ValueError(
            f'time_blocks: rounds={rounds}, min_calls={min_calls}; '
            'expected both >= 1'
        )
    names = list(candidates)
    calls: Dict[str, int] = {}
    for name in names:
        per_call = candidates[name](max(warmup, 1)) / max(warmup, 1)
        calls[name] = max(min_calls, math.ceil(block_seconds / per_call))
        if log:
            log(
                f'  warm-up {name}: {per_call * 1e3:.1f} ms/call, blocks '
                f'of {calls[name]} calls'
            )
    per_call_times: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(pause)
            seconds = candidates[name](calls[name])
            per_call_times[name].append(seconds / calls[name])
        if log:
            log(
                f'  round {r + 1}/{rounds}: '
                + ', '.join(
                    f'{n} {statistics.median(per_call_times[n]) * 1e3:.1f}'
                    for n in names
                )
                + ' ms'
            )
    return {
        n: Timing(
            statistics.median(t), min(t), max(t), calls_per_block=calls[n]
        )
        for n, t in per_call_times.items()
    }
