"""Steady-state timing: blocks of consecutive calls, interleaved, medians."""

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
