"""analysis/report.py: the tables of timed paths, ratios to the first row,
each model's best path, and the heading that dates and places a run."""

from litehrnet_mm.analysis.candidates import pose_candidates
from litehrnet_mm.analysis.report import best_paths, heading, inference_table
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
