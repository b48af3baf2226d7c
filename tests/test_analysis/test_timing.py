"""Steady-state timing: blocks of consecutive calls, interleaved, medians."""

import math
import statistics
import time

import pytest

from litehrnet_mm.analysis.timing import local_block, time_blocks


def test_blocks_are_sized_interleaved_and_report_the_time_per_call():
    order = []

    def sleeper(name, seconds):
        def call():
            order.append(name)
            time.sleep(seconds)

        return call

    results = time_blocks(
        {
            'fast': local_block(sleeper('fast', 0.002)),
            'slow': local_block(sleeper('slow', 0.01)),
        },
        rounds=3,
        block_seconds=0.03,
        min_calls=2,
        pause=0.0,
        warmup=1,
    )
    assert list(results) == ['fast', 'slow']
    assert 0.002 <= results['fast'].median < 0.006
    assert 0.01 <= results['slow'].median < 0.02
    assert results['fast'].low <= results['fast'].median
    assert results['fast'].median <= results['fast'].high
    # Blocks: many calls of one candidate in a row, then the other's.
    assert results['fast'].calls_per_block > results['slow'].calls_per_block
    # After one warm-up call each: whole blocks, the order rotating from
    # round to round.
    nf = results['fast'].calls_per_block
    ns = results['slow'].calls_per_block
    fast, slow = ['fast'] * nf, ['slow'] * ns
    assert order[2:] == fast + slow + slow + fast + fast + slow


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match='no candidates'):
        time_blocks({})
    with pytest.raises(ValueError, match='rounds=0'):
        time_blocks({'a': local_block(lambda: None)}, rounds=0)


def test_sizes_pauses_and_medians_by_a_scripted_clock(monkeypatch):
    # Blocks that report scripted seconds: the warm-up sizes the blocks,
    # a pause comes before every block and the figure is the median of
    # the time per call over rounds (one slow round does not move it).
    events = []
    monkeypatch.setattr(
        'litehrnet_mm.analysis.timing.time.sleep',
        lambda s: events.append(('pause', s)),
    )
    slowdown = {'a': iter([1, 1, 1, 10, 1]), 'b': iter([1, 1, 3, 2, 1])}
    per_call = {'a': 0.03, 'b': 0.2}

    def scripted(name):
        def block(n):
            events.append((name, n))
            return n * per_call[name] * next(slowdown[name])

        return block

    results = time_blocks(
        {'a': scripted('a'), 'b': scripted('b')},
        rounds=4,
        block_seconds=0.1,
        min_calls=2,
        pause=0.25,
        warmup=4,
    )
    # 0.1 s / 0.03 s per call: 3.33 -> 4 calls; b: 0.5 -> min_calls.
    assert results['a'].calls_per_block == math.ceil(0.1 / 0.03) == 4
    assert results['b'].calls_per_block == 2
    assert events[:2] == [('a', 4), ('b', 4)]
    pause = ('pause', 0.25)
    assert events[2:] == [
        *(pause, ('a', 4), pause, ('b', 2)),
        *(pause, ('b', 2), pause, ('a', 4)),
        *(pause, ('a', 4), pause, ('b', 2)),
        *(pause, ('b', 2), pause, ('a', 4)),
    ]
    for name, rounds in (('a', [1, 1, 10, 1]), ('b', [1, 3, 2, 1])):
        times = [per_call[name] * k for k in rounds]
        timing = results[name]
        assert timing.median == pytest.approx(statistics.median(times))
        assert timing.low == pytest.approx(min(times))
        assert timing.high == pytest.approx(max(times))


def test_a_block_of_no_calls_is_refused():
    with pytest.raises(ValueError, match='min_calls=0; expected both >= 1'):
        time_blocks({'a': local_block(lambda: None)}, min_calls=0)
