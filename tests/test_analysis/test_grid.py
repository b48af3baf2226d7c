"""The benchmark's grid (analysis/grid.py): a candidate's paths are its
PyTorch paths and one artifact per (runtime, precision) pair that exists;
each batch's workers are checked, timed together and stopped, and the rows
merge across batch sizes. The exports and the workers stand in here (the
benchmark end to end: tests/test_tools/test_benchmark.py)."""

import os

import pytest

from litehrnet_mm.analysis import grid
from litehrnet_mm.analysis.candidates import pose_candidates, seg_candidates
from litehrnet_mm.deploy.exporters import PRECISIONS

PORT, OURS = pose_candidates('18', peers=False)
SHAPE = (32, 32)


@pytest.fixture
def exports(monkeypatch):
    """The artifact exports asked for, in order; ``fails`` makes a runtime's
    export raise."""
    asked = []
    fails = set()

    def export_artifact(model, runtime, precision, shape, file, batch, calib):
        print('Statistics collection 100%')  # as NNCF draws its bars
        asked.append((runtime, precision, os.path.basename(file), calib))
        if runtime in fails:
            raise RuntimeError(f'{runtime} cannot')
        return file

    monkeypatch.setattr(grid, 'export_artifact', export_artifact)
    return asked, fails


def paths(workers):
    return [w.spec['path'] for w in workers]


def test_candidate_by_runtime_by_precision_where_the_pair_exists(
    tmp_path, exports, capsys
):
    asked, _ = exports
    runtimes = ['onnxruntime', 'openvino', 'tensorrt']
    precisions = ['fp32', 'bf16', 'int8']
    workers = grid.paths_of(
        OURS,
        SHAPE,
        2,
        1,
        runtimes,
        precisions,
        str(tmp_path),
        calib_images=3,
        log=lambda line: None,
    )
    pairs = [
        f'{r} {p}'
        for r in runtimes
        for p in precisions
        if p in PRECISIONS.get(r, ())
    ]
    assert pairs == [
        'onnxruntime fp32',
        'onnxruntime int8',
        'openvino fp32',
        'openvino bf16',
        'openvino int8',
    ]
    assert paths(workers) == ['eager', 'deployed'] + pairs
    # An exporter's progress goes to stderr: stdout is the tables'.
    out = capsys.readouterr()
    assert 'Statistics' not in out.out and 'Statistics' in out.err
    key = OURS.key
    assert [a[2] for a in asked] == [
        f'{key}-b2-onnxruntime-fp32.onnx',
        f'{key}-b2-onnxruntime-int8.onnx',
        f'{key}-b2-openvino-fp32.xml',
        f'{key}-b2-openvino-bf16.xml',
        f'{key}-b2-openvino-int8.xml',
    ]
    # Calibration images only for int8, one image each.
    for _, precision, _, calib in asked:
        if precision == 'int8':
            assert len(calib) == 3 and calib[0].shape == (1, 3, *SHAPE)
        else:
            assert calib is None
    for w in workers:
        assert w.spec['batch'] == 2 and w.spec['shape'] == SHAPE
        assert [e.shape for e in w.expected] == [(2, 17, 8, 8)]
        assert not w.note


def test_the_port_has_no_deploy_form_and_a_failed_export_is_a_note(
    tmp_path, exports
):
    _, fails = exports
    fails.add('openvino')
    workers = grid.paths_of(
        PORT,
        SHAPE,
        1,
        1,
        ['onnxruntime', 'openvino'],
        ['fp32'],
        str(tmp_path),
        log=lambda line: None,
    )
    assert paths(workers) == ['eager', 'onnxruntime fp32', 'openvino fp32']
    assert [w.note for w in workers] == ['', '', 'export fails (RuntimeError)']
    only = grid.paths_of(
        OURS,
        SHAPE,
        1,
        1,
        ['onnxruntime'],
        ['fp32'],
        str(tmp_path),
        torch_paths=False,
        log=lambda line: None,
    )
    assert paths(only) == ['onnxruntime fp32']


class StandIn:
    """A worker: ``start`` succeeds unless it carries a note, a block of
    ``n`` calls takes ``n`` milliseconds."""

    def __init__(self, path, diff, note=''):
        self.spec = {'path': path}
        self.name = f'm | {path}'
        self.diff, self.note, self.seconds, self.spread = diff, note, {}, {}
        self.started_with = self.stopped = None

    def start(self, context, atol):
        self.started_with = atol
        return not self.note

    def block(self, n):
        return n * 1e-3

    def stop(self):
        self.stopped = True


def _run_grid(batches, workers_of, rounds=1):
    """run_grid with stand-ins: short rounds (one unless told), no pause,
    no log."""
    return grid.run_grid(
        batches,
        workers_of,
        context=None,
        atol=1e-4,
        rounds=rounds,
        block_seconds=0.001,
        pause=0,
        log=lambda line: None,
    )


def test_each_batch_is_checked_timed_and_stopped_then_rows_merge():
    made = {}

    def workers_of(batch):
        made[batch] = [
            StandIn('eager', 0.0),
            StandIn('openvino int8', 0.01 * batch),
            StandIn('onnxruntime fp32', None, 'export fails (X)'),
        ]
        return made[batch]

    rows = _run_grid([1, 4], workers_of)
    for workers in made.values():
        # fp32 paths are held to atol; a reduced precision only reports.
        assert [w.started_with for w in workers] == [1e-4, None, 1e-4]
        assert all(w.stopped for w in workers)
    # One row per path, the first batch's worker, with every batch's time.
    assert [r.name for r in rows] == [w.name for w in made[1]]
    assert rows[0] is made[1][0]
    assert set(rows[0].seconds) == {1, 4}
    assert rows[0].seconds[1] == pytest.approx(1e-3)
    assert rows[1].diff == pytest.approx(0.04)  # the largest difference
    assert rows[2].seconds == {} and rows[2].note == 'export fails (X)'
    assert rows[1].spread == {1: 1.0, 4: 1.0}  # slowest round over fastest


def test_a_batch_with_nothing_to_time_leaves_notes_not_a_crash():
    rows = _run_grid(
        [1],
        lambda batch: [StandIn('onnxruntime fp32', None, 'export fails (X)')],
    )
    assert [(r.seconds, r.note) for r in rows] == [({}, 'export fails (X)')]


def test_a_model_that_does_not_run_at_the_size_is_a_result(monkeypatch):
    """MobileNetV3-LRASPP's fixed 49x49 pool does not fit a small input:
    one row that says so, not a crash of the whole run."""

    def build(candidate, shape):
        raise RuntimeError('Output size is too small\n<the traced graph>')

    monkeypatch.setattr(grid, 'build', build)
    logged = []
    (worker,) = grid.paths_of(
        OURS,
        SHAPE,
        1,
        1,
        ['openvino'],
        ['fp32'],
        '/nowhere',
        log=logged.append,
    )
    assert worker.note == 'does not run at 32x32 (RuntimeError)'
    assert logged[-1].endswith(': Output size is too small')
    assert not worker.start(None, 1e-4)


def test_rows_keep_the_largest_diff_the_first_note_and_the_spread(
    monkeypatch,
):
    events = []
    monkeypatch.setattr(
        grid, 'stop_converters', lambda: events.append('stop converters')
    )

    class Uneven(StandIn):
        """Its rounds take 1, 3 and 2 ms per call."""

        def __init__(self, *args):
            super().__init__(*args)
            self.rounds = iter([1, 1, 3, 2])  # the warm-up, then 3 rounds

        def start(self, context, atol):
            events.append(f'start {self.spec["path"]}')
            return super().start(context, atol)

        def block(self, n):
            events.append(f'block {self.spec["path"]}')
            return n * 1e-3 * next(self.rounds)

    def workers_of(batch):
        # The first batch differs more, and its export failed there only.
        note = 'export fails (X)' if batch == 1 else ''
        return [
            Uneven('eager', 0.0),
            Uneven('openvino int8', 0.05 / batch),
            Uneven('onnxruntime fp32', None, note),
        ]

    rows = _run_grid([1, 4], workers_of, rounds=3)
    assert rows[1].diff == pytest.approx(0.05)
    assert rows[2].note == 'export fails (X)' and set(rows[2].seconds) == {4}
    # The median per call, and the slowest round over the fastest.
    assert rows[0].seconds == {1: pytest.approx(2e-3), 4: pytest.approx(2e-3)}
    assert rows[0].spread == {1: pytest.approx(3.0), 4: pytest.approx(3.0)}
    # Converters stop once every path has started, before any is timed.
    first = events[: events.index('stop converters')]
    assert first == [
        'start eager',
        'start openvino int8',
        'start onnxruntime fp32',
    ]
    assert events[len(first) + 1].startswith('block ')


def test_a_seg_candidate_is_timed_in_its_deploy_form_too(tmp_path, exports):
    (seg,) = seg_candidates('18', peers=False)
    workers = grid.paths_of(
        seg, SHAPE, 1, 1, [], [], str(tmp_path), log=lambda line: None
    )
    assert paths(workers) == ['eager', 'deployed']
