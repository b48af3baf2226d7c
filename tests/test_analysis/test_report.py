"""analysis/report.py: the tables of timed paths, ratios to the first row,
each model's best path, and the heading that dates and places a run."""

from litehrnet_mm.analysis import report
from litehrnet_mm.analysis.candidates import pose_candidates
from litehrnet_mm.analysis.report import (
    SPREAD,
    best_paths,
    busy,
    heading,
    inference_table,
    steps_table,
)
from litehrnet_mm.analysis.worker import Worker

PORT, OURS = pose_candidates('18', peers=False)


def _row(candidate, path, seconds, diff=None, note=''):
    row = Worker(dict(candidate=candidate, path=path), [], note)
    row.seconds, row.diff = seconds, diff
    return row


ROWS = [
    _row(PORT, 'eager', {1: 0.040, 16: 0.400}, 0.0),
    _row(OURS, 'deployed', {1: 0.020, 16: 0.160}, 1e-5),
    _row(OURS, 'openvino int8', {1: 0.010}, 3e-2),
    _row(OURS, 'onnxruntime fp32', {}, note='export fails (RuntimeError)'),
]


def test_table_gives_latency_throughput_and_ratios():
    lines = inference_table(ROWS, [1, 16]).splitlines()
    assert lines[0] == (
        '| model | AP | runtime | precision | max abs diff vs eager '
        '| batch 1: ms | x ref | batch 16: img/s | x ref |'
    )
    assert lines[2] == (
        '| Lite-HRNet-18 (mmpose port) | 64.2 | PyTorch | fp32 | 0.0e+00 '
        '| 40.0 | 1.00 | 40 | 1.00 |'
    )
    assert lines[3] == (
        '| Lite-HRNet-18 (litehrnet_mm) | 64.2 | PyTorch, deploy form | fp32 '
        '| 1.0e-05 | 20.0 | 2.00 | 100 | 2.50 |'
    )
    assert lines[4].startswith(
        '| Lite-HRNet-18 (litehrnet_mm) | 64.2 | openvino | int8 | 3.0e-02 '
        '| 10.0 | 4.00 |'
    )
    assert 'export fails (RuntimeError)' in lines[5]


def test_best_paths_name_each_models_fastest():
    lines = best_paths(ROWS, [1, 16]).splitlines()
    assert lines == [
        '- batch 1, best path: Lite-HRNet-18 (mmpose port): 40.0 ms (eager); '
        'Lite-HRNet-18 (litehrnet_mm): 10.0 ms (openvino int8)',
        '- batch 16, best path: Lite-HRNet-18 (mmpose port): 40 img/s '
        '(eager); Lite-HRNet-18 (litehrnet_mm): 100 img/s (deployed)',
    ]


def test_heading_dates_and_places_the_run():
    line = heading('pose, 256x192', 2, ['onnxruntime'], '1.00', 12.3, 'cmd')
    assert line.startswith('pose, 256x192, 20')
    assert ' UTC; ' in line and '2 threads; torch ' in line
    assert 'load average 1.00 before, ' in line
    assert line.endswith(' after; 12 s; `cmd`')


def test_seg_table_names_its_accuracy_column_miou():
    header = inference_table(ROWS, [1], metric='mIoU').splitlines()[0]
    assert header.startswith('| model | mIoU | runtime |')


def test_a_busy_row_is_marked_and_the_reference_is_the_first_timed():
    """A path whose rounds spread by more than SPREAD is marked; when the
    first row did not run at a batch size (the port at a size it cannot
    take), the ratios there are to the first row that did, named."""
    rows = [
        _row(PORT, 'eager', {1: 0.040}, 0.0),
        _row(OURS, 'deployed', {1: 0.020, 16: 0.16}, 1e-5),
        _row(OURS, 'openvino fp32', {1: 0.010, 16: 0.08}, 1e-5),
    ]
    rows[2].spread = {1: 1.2, 16: 2.0}
    lines = inference_table(rows, [1, 16]).splitlines()
    assert lines[2].endswith('| 40.0 | 1.00 |  |  |')
    assert lines[3].endswith('| 20.0 | 2.00 | 100 | 1.00 |')
    assert lines[4].endswith('| 10.0 | 4.00 | 200* | 2.00 |')
    assert lines[6:] == [
        'x ref at batch 16: over the row Lite-HRNet-18 (litehrnet_mm), '
        'deployed, the first timed there',
        '\\* its rounds spread by more than 1.5x (slowest over fastest): the '
        'machine was busy, the median is unsure',
    ]


def test_throughput_keeps_three_significant_figures():
    rows = [_row(PORT, 'eager', {1: 0.5, 4: 2.0})]
    assert (
        inference_table(rows, [1, 4])
        .splitlines()[2]
        .endswith('| 500.0 | 1.00 | 2 | 1.00 |')
    )
    rows = [_row(PORT, 'eager', {1: 0.5, 4: 1.7})]
    assert (
        inference_table(rows, [1, 4])
        .splitlines()[2]
        .endswith('| 2.35 | 1.00 |')
    )
    assert best_paths(rows, [1, 4]).endswith('2.35 img/s (eager)')


def test_steps_that_do_not_run_are_a_row_with_their_reason():
    table = steps_table(
        'training step, batch 2',
        {'ours': 0.5},
        {'port': 'does not run at 64x48 (RuntimeError)'},
    ).splitlines()
    assert table[2:] == [
        '| ours | 500 | 1.00 |',
        '| port | does not run at 64x48 (RuntimeError) | |',
    ]


def test_heading_says_one_thread():
    line = heading('pose, 256x192', 1, [], '1.00', 1.0, 'cmd')
    assert ', 1 thread; torch ' in line


def test_a_spread_of_exactly_the_limit_is_not_marked():
    rows = [_row(PORT, 'eager', {1: 0.040}), _row(OURS, 'eager', {1: 0.02})]
    rows[0].spread = {1: SPREAD}
    rows[1].spread = {1: SPREAD * 1.01}
    lines = inference_table(rows, [1]).splitlines()
    assert lines[2].endswith('| 40.0 | 1.00 |')
    assert lines[3].endswith('| 20.0* | 2.00 |')


def test_step_ratios_are_the_first_steps_time_over_each():
    table = steps_table('training step', {'a': 0.5, 'b': 0.25, 'c': 2.0})
    assert table.splitlines()[2:] == [
        '| a | 500 | 1.00 |',
        '| b | 250 | 2.00 |',
        '| c | 2000 | 0.25 |',
    ]


def test_busy_warns_from_a_load_of_as_many_as_the_cores(monkeypatch):
    monkeypatch.setattr(report.os, 'cpu_count', lambda: 4)
    for load, warns in ((3.99, False), (4.0, True), (6.5, True)):
        monkeypatch.setattr(
            report.os, 'getloadavg', lambda load=load: (load, 0, 0)
        )
        warning = busy()
        assert bool(warning) == warns
        if warns:
            assert warning.startswith(f'load average {load:.2f} on 4 cores')
