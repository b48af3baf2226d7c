"""A path of the benchmark in a worker (analysis/worker.py): the protocol
run in this process (``serve`` in a thread at the end of a pipe), and the
parent's side checking a worker's outputs against the eager model's. No
child process is started: threads stand in for the processes."""

import multiprocessing
import threading
import warnings

import numpy as np
import pytest
import torch

from litehrnet_mm.analysis.candidates import pose_candidates
from litehrnet_mm.analysis.worker import Worker, host_modules, serve

PORT, OURS = pose_candidates('18', peers=False)
SHAPE = (32, 32)


class ThreadProcess:
    """``multiprocessing.Process`` as a thread: the same calls."""

    def __init__(self, target, args, daemon):
        self._thread = threading.Thread(target=target, args=args, daemon=True)
        self.exitcode = None

    def start(self):
        self._thread.start()

    def is_alive(self):
        return self._thread.is_alive()

    def join(self, timeout=None):
        self._thread.join(timeout)

    def kill(self):
        raise AssertionError('a worker that answers is never killed')


class ChildEnd:
    """The child's end of the pipe: the parent closes its copy after the
    start, which in a thread would close the only one."""

    def __init__(self, conn):
        self.send, self.recv = conn.send, conn.recv

    def close(self):
        pass


class ThreadContext:
    Process = ThreadProcess

    @staticmethod
    def Pipe():
        parent, child = multiprocessing.Pipe()
        return parent, ChildEnd(child)


@pytest.fixture(autouse=True)
def keep_process_state():
    # serve sets the thread count and the warning filters of its process:
    # here, of the test's.
    threads = torch.get_num_threads()
    with warnings.catch_warnings():
        yield
    torch.set_num_threads(threads)


def spec(**more):
    return dict(candidate=OURS, shape=SHAPE, batch=1, threads=1, **more)


def test_the_protocol_ready_then_timed_blocks_then_none():
    parent, child = multiprocessing.Pipe()
    thread = threading.Thread(target=serve, args=(child, spec(path='eager')))
    thread.start()
    status, outputs = parent.recv()
    assert status == 'ready'
    assert [o.shape for o in outputs] == [(1, 17, 8, 8)]
    for n in (1, 3):
        parent.send(n)
        seconds = parent.recv()
        assert isinstance(seconds, float) and seconds > 0
    parent.send(None)
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_a_path_that_cannot_run_answers_its_error(tmp_path):
    parent, child = multiprocessing.Pipe()
    missing = str(tmp_path / 'gone.onnx')
    serve(child, spec(path='onnxruntime fp32', file=missing))
    status, message = parent.recv()
    assert status == 'error'
    assert message.startswith('FileNotFoundError: ') and 'gone.onnx' in message


def test_the_parent_checks_the_outputs_then_times_then_stops():
    # The eager path's own outputs: the same images in every process.
    parent, child = multiprocessing.Pipe()
    serve_thread = threading.Thread(
        target=serve, args=(child, spec(path='eager'))
    )
    serve_thread.start()
    _, expected = parent.recv()
    parent.send(None)
    serve_thread.join()

    worker = Worker(spec(path='deployed'), expected)
    assert worker.name == f'{OURS.label} | deployed'
    # The protocol, not the deploy form's numerics (test_switch): at 32x32
    # float32 rounding alone moves this random-weight model's outputs by
    # up to 5e-4 on AVX-512 CPUs (eager fp32 against eager fp64; eager and
    # deployed agree to 3e-13 in fp64).
    assert worker.start(ThreadContext(), atol=1e-3)
    assert worker.diff is not None and worker.diff <= 1e-3
    assert worker.block(2) > 0
    worker.stop()
    assert worker._process is None

    wrong = Worker(spec(path='eager'), [e + 1 for e in expected])
    assert not wrong.start(ThreadContext(), atol=1e-4)
    assert wrong.note == 'FAILED check (1.0e+00)'
    # Without atol (a reduced precision) the difference is reported only.
    reported = Worker(spec(path='eager'), [e + 1 for e in expected])
    assert reported.start(ThreadContext(), atol=None)
    assert np.isclose(reported.diff, 1.0)
    reported.stop()


def test_a_worker_that_cannot_start_keeps_its_reason(tmp_path):
    noted = Worker(spec(path='openvino int8'), [], 'export fails (X)')
    assert not noted.start(ThreadContext(), atol=None)
    assert noted.note == 'export fails (X)'
    failing = Worker(
        spec(path='onnxruntime fp32', file=str(tmp_path / 'gone.onnx')), []
    )
    assert not failing.start(ThreadContext(), atol=None)
    assert failing.note.startswith('fails: FileNotFoundError: ')


def test_the_fork_server_imports_a_host_only_for_pytorch_paths():
    assert host_modules('pose', torch_paths=True) == ['mmpose.models']
    assert host_modules('seg', torch_paths=True) == ['mmseg.models']
    # Workers that only load artifacts never build a model.
    assert host_modules('pose', torch_paths=False) == []
    assert host_modules('seg', torch_paths=False) == []
