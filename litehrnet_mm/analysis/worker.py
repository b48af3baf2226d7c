"""A candidate's path (eager PyTorch, the deploy form, or an exported
artifact on its runtime) run in a process of its own, timed on request.

Why a process each: ONNX Runtime's and OpenVINO's thread pools slow
PyTorch's OpenMP threads in the same process by half or more, and a
runtime's spinning threads bill whoever runs next in the same process.

The protocol, over a pipe: the worker builds its call and answers
``('ready', outputs)`` (its outputs on the benchmark's images, for the
check against the eager model) or ``('error', message)``; then every
integer ``n`` it receives is answered with the seconds ``n`` consecutive
calls took, and ``None`` ends it.

Starting a worker used to cost ~15 s (a fresh interpreter importing torch
and the hosts). :func:`worker_context` forks workers from a server process
that imported those once (multiprocessing's ``forkserver``): each worker
is still a process of its own, with its own runtime and thread pools
(nothing in the server ever ran a parallel region or loaded a runtime),
but starts in well under a second plus its own model's build.
"""

import multiprocessing
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np

from .timing import local_block

#: The modules a worker needs whatever it runs (imported once in the
#: fork server).
BASE_MODULES = ('torch', 'litehrnet_mm.analysis.worker')


def host_modules(task: str, torch_paths: bool) -> List[str]:
    """What the fork server imports for ``task`` (``'pose'`` or
    ``'seg'``): its host's models where PyTorch paths run (they build the
    model), nothing where the workers only load artifacts (the host's
    import is ~12 s here)."""
    if not torch_paths:
        return []
    return ['mmseg.models' if task == 'seg' else 'mmpose.models']


def worker_context(modules: Sequence[str] = ()):
    """A multiprocessing context whose processes fork from a server that
    imported :data:`BASE_MODULES` and ``modules`` (e.g. ``mmpose.models``
    for the peers); ``spawn`` where ``forkserver`` is not available."""
    try:
        context = multiprocessing.get_context('forkserver')
    except ValueError:
        return multiprocessing.get_context('spawn')
    context.set_forkserver_preload(list(BASE_MODULES) + list(modules))
    return context


def _call(spec: dict):
    """One call of the path described by ``spec`` on its images."""
    import torch

    from .candidates import benchmark_images, build

    x = benchmark_images(spec['batch'], tuple(spec['shape']))
    if spec.get('file'):
        from litehrnet_mm.deploy.runtimes import load_runtime

        runtime = load_runtime(spec['file'], threads=spec['threads'])
        # Checked once: the timed call is the runtime's alone.
        images = runtime.check_images(x.numpy())
        return lambda: runtime.run(images)
    model = build(spec['candidate'], tuple(spec['shape']))
    if spec['path'] == 'deployed':
        model.model.backbone.switch_to_deploy()

    def call() -> List[np.ndarray]:
        with torch.no_grad():
            return [o.numpy() for o in model(x)]

    return call


def serve(conn, spec: dict) -> None:
    """The worker's side of the protocol (the target of its process)."""
    import torch

    torch.set_num_threads(spec['threads'])
    warnings.simplefilter('ignore')
    try:
        call = _call(spec)
        conn.send(('ready', [np.asarray(o) for o in call()]))
    except Exception as e:  # a path that fails is a result of the run
        conn.send(('error', f'{type(e).__name__}: {e}'))
        return
    block = local_block(call)
    while True:
        n = conn.recv()
        if n is None:
            return
        conn.send(block(n))


class Worker:
    """The parent's side: one path of one candidate, in its process.

    Args:
        spec: ``candidate`` (:class:`~.candidates.Candidate`), ``path``
            (``'eager'``, ``'deployed'``, or ``'RUNTIME PRECISION'``),
            ``file`` (the artifact of a runtime path), ``shape``,
            ``batch``, ``threads``.
        expected: The eager model's outputs on the benchmark's images.
        note: Why the path cannot run (e.g. its export failed), if so.
    """

    def __init__(
        self, spec: dict, expected: List[np.ndarray], note: str = ''
    ) -> None:
        self.spec = spec
        self.expected = expected
        self.note = note
        self.diff: Optional[float] = None
        self.seconds: Dict[int, float] = {}
        #: Slowest round over fastest, by batch size.
        self.spread: Dict[int, float] = {}
        self._process = self._conn = None

    @property
    def name(self) -> str:
        return f'{self.spec["candidate"].label} | {self.spec["path"]}'

    def start(self, context, atol: Optional[float]) -> bool:
        """Start the process and compare its outputs with the eager
        model's (max abs difference); False, with the reason in ``note``,
        when it fails or differs by more than ``atol`` (None: report the
        difference, never fail on it)."""
        if self.note:
            return False
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, self.spec), daemon=True
        )
        self._process.start()
        child.close()
        try:
            status, result = self._conn.recv()
        except EOFError:  # it died before answering (e.g. a crash)
            status, result = 'error', f'exit {self._process.exitcode}'
        if status == 'error':
            self.note = f'fails: {result.splitlines()[0][:80]}'
            self.stop()
            return False
        self.diff = max(
            float(np.abs(g - e).max()) for g, e in zip(result, self.expected)
        )
        if atol is not None and not self.diff <= atol:
            self.note = f'FAILED check ({self.diff:.1e})'
            self.stop()
            return False
        return True

    def block(self, n: int) -> float:
        """Seconds that ``n`` consecutive calls took in the worker."""
        self._conn.send(n)
        return self._conn.recv()

    def stop(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._conn.send(None)
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
            self._process = None
