"""Speed of Lite-HRNet against mmpose's port and the models users pick
instead, on every runtime and precision asked for, in one run.

    python tools/analysis/benchmark.py                  # pose, Lite-HRNet-18
    python tools/analysis/benchmark.py --precisions fp32 bf16 int8
    python tools/analysis/benchmark.py --models ours-18 mobilenetv2
    python tools/analysis/benchmark.py --arch 30 --no-peers
    python tools/analysis/benchmark.py --task seg       # 512x1024, batch 1
    python tools/analysis/benchmark.py --train          # training step
    python tools/analysis/benchmark.py --profile        # where time goes
    python tools/analysis/benchmark.py --profile --precisions fp32 bf16 int8

The models are :mod:`litehrnet_mm.analysis.candidates` (random weights,
BN statistics calibrated on the timed input distribution, outputs at
heatmap scale). Each runs eager, in the deploy form (ours), and as an
artifact of every pair of ``--runtimes`` x ``--precisions`` that exists
(:mod:`litehrnet_mm.analysis.grid`), each path in a worker process of its
own, checked against the eager model (fp32 within ``--atol``; reduced
precisions report their difference: random weights say nothing of their
accuracy), then timed: blocks of consecutive calls after warm-up,
interleaved over rounds with a pause before each block, medians
(:mod:`litehrnet_mm.analysis.timing`). Progress goes to stderr, markdown to
stdout, headed by the date, the machine, its load and the command.
"""

import argparse
import os
import shlex
import sys
import tempfile
import time

from litehrnet_mm.errors import LiteHRNetError
from litehrnet_mm.utils.cli import (
    description,
    first_line,
    positive_float,
    positive_int,
    run_tool,
    seconds,
)
from litehrnet_mm.utils.paths import make_folder


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    from litehrnet_mm.deploy.export import PRECISIONS, all_precisions

    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('--task', choices=['pose', 'seg'], default='pose')
    parser.add_argument('--arch', default='18', choices=['18', '30'])
    parser.add_argument('--models', nargs='+', help='candidate keys')
    parser.add_argument('--no-peers', dest='peers', action='store_false')
    parser.add_argument(
        '--shape', type=positive_int, nargs=2, metavar=('H', 'W')
    )
    parser.add_argument(
        '--batch',
        type=positive_int,
        nargs='+',
        help='default 1 16 (pose), 1 (seg): latency at the first, '
        'throughput at the others',
    )
    parser.add_argument(
        '--runtimes',
        nargs='+',
        choices=sorted(PRECISIONS),
        help=f'default {" ".join(DEFAULT_RUNTIMES)}',
    )
    parser.add_argument(
        '--precisions',
        nargs='+',
        default=['fp32'],
        choices=all_precisions(),
    )
    parser.add_argument(
        '--no-torch',
        dest='torch',
        action='store_false',
        help='leave out the PyTorch paths',
    )
    parser.add_argument('--calib-images', type=positive_int, default=16)
    parser.add_argument('--train', action='store_true')
    parser.add_argument('--train-batch', type=positive_int, help='default 16')
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--rounds', type=positive_int, default=5)
    parser.add_argument('--block-seconds', type=positive_float, default=0.5)
    parser.add_argument('--pause', type=seconds, default=0.2)
    parser.add_argument('--threads', type=positive_int, default=os.cpu_count())
    parser.add_argument('--atol', type=positive_float, default=1e-4)
    parser.add_argument(
        '--keep',
        metavar='DIR',
        help='write the artifacts into DIR and keep them (for a second '
        "harness, e.g. OpenVINO's benchmark_app)",
    )
    args = parser.parse_args(argv)
    unused = _unused_option(args, parser)
    if unused:
        parser.error(unused)
    for option in ('models', 'batch', 'runtimes', 'precisions'):
        value = getattr(args, option)
        if value is not None:  # each once, in the order given
            setattr(args, option, list(dict.fromkeys(value)))
    args.runtimes = args.runtimes or list(DEFAULT_RUNTIMES)
    args.train_batch = args.train_batch or 16
    if not args.train:
        missing = _precisions_on_none(args.precisions, args.runtimes)
        if missing:
            parser.error(missing)
    if args.keep and os.path.isfile(args.keep):
        parser.error(f'--keep {args.keep} is a file; expected a folder')
    if args.keep:
        try:
            make_folder(args.keep, '--keep', ValueError)
        except ValueError as e:
            parser.error(str(e))
    seg = args.task == 'seg'
    args.shape = tuple(args.shape or ((512, 1024) if seg else (256, 192)))
    args.batch = args.batch or ([1] if seg else [1, 16])
    return args


#: The runtimes timed unless ``--runtimes`` names others.
DEFAULT_RUNTIMES = ('onnxruntime', 'openvino')

#: What ``--train`` and ``--profile`` run, and the options they leave
#: unused (refused: they would be ignored without a word).
_MODES = {
    'train': (
        "times the training step of mmpose's port and ours, in PyTorch",
        ['--models', '--batch', '--runtimes', '--precisions', '--keep',
         '--calib-images', '--no-peers', '--no-torch', '--atol',
         '--task seg'],
    ),
    'profile': (
        'profiles ours (Lite-HRNet pose, --arch) on ONNX Runtime and '
        'OpenVINO at batch 1',
        ['--models', '--batch', '--runtimes', '--no-peers', '--no-torch',
         '--atol', '--task seg'],
    ),
}  # fmt: skip


def _unused_option(args, parser: argparse.ArgumentParser) -> str:
    """A message for a mode given with options it leaves unused, or
    ``''``."""
    if args.train and args.profile:
        return '--train and --profile: one at a time'
    if args.train_batch is not None and not args.train:
        return '--train-batch goes with --train'
    for mode, (runs, unused) in _MODES.items():
        if not getattr(args, mode):
            continue
        given = [o for o in unused if _is_given(o, args, parser)]
        if given:
            return f'--{mode} {runs}; it takes no {", ".join(given)}'
    return ''


def _is_given(option: str, args, parser: argparse.ArgumentParser) -> bool:
    """Whether ``option`` (``--task seg``: that value) differs from its
    default."""
    if option == '--task seg':
        return args.task == 'seg'
    name = option[2:]
    dest = (name[3:] if name.startswith('no-') else name).replace('-', '_')
    return getattr(args, dest) != parser.get_default(dest)


def _precisions_on_none(precisions, runtimes) -> str:
    """A message for the asked precisions that none of the asked runtimes
    has (their paths would be left out without a word), or ``''``."""
    from litehrnet_mm.deploy.export import PRECISIONS

    missing = [
        p for p in precisions if not any(p in PRECISIONS[r] for r in runtimes)
    ]
    if not missing:
        return ''
    having = {
        p: [r for r in sorted(PRECISIONS) if p in PRECISIONS[r]]
        for p in missing
    }
    where = '; '.join(f'{p} on {", ".join(rs)}' for p, rs in having.items())
    return (
        f'--precisions {" ".join(missing)}: none of --runtimes '
        f'{" ".join(runtimes)} has it ({where})'
    )


def run_inference(args, folder: str) -> str:
    from litehrnet_mm.analysis.candidates import select
    from litehrnet_mm.analysis.grid import paths_of, run_grid
    from litehrnet_mm.analysis.report import best_paths, inference_table
    from litehrnet_mm.analysis.worker import host_modules, worker_context

    try:
        models = select(args.task, args.arch, args.peers, args.models)
    except ValueError as e:
        raise LiteHRNetError(str(e)) from None
    seg = args.task == 'seg'

    def workers_of(batch):
        return [
            w
            for m in models
            for w in paths_of(
                m,
                args.shape,
                batch,
                args.threads,
                args.runtimes,
                args.precisions,
                folder,
                args.torch,
                args.calib_images,
                log,
            )
        ]

    rows = run_grid(
        args.batch,
        workers_of,
        worker_context(host_modules(args.task, args.torch)),
        args.atol,
        args.rounds,
        args.block_seconds,
        args.pause,
        log,
    )
    return (
        inference_table(rows, args.batch, 'mIoU' if seg else 'AP')
        + '\n\n'
        + best_paths(rows, args.batch)
    )


def run_train(args) -> str:
    from litehrnet_mm.analysis.candidates import training_steps
    from litehrnet_mm.analysis.report import steps_table
    from litehrnet_mm.analysis.timing import time_blocks

    log(f'timing the training step, batch {args.train_batch}')
    steps = training_steps(args.arch, args.shape, args.train_batch)
    notes = {}
    for name, step in list(steps.items()):
        try:
            step(1)
        except Exception as e:  # mmpose's port fails at some sizes
            h, w = args.shape
            notes[name] = f'does not run at {h}x{w} ({type(e).__name__})'
            log(f'  {name}: {notes[name]}: {first_line(e)}')
            del steps[name]
    results = steps and time_blocks(
        steps,
        rounds=args.rounds,
        block_seconds=args.block_seconds,
        pause=args.pause,
        log=log,
    )
    return steps_table(
        f'training step, batch {args.train_batch}',
        {name: t.median for name, t in results.items()},
        notes,
    )


def run_profile(args, folder: str) -> str:
    from litehrnet_mm.analysis.profile import profile_ours

    return profile_ours(
        args.arch,
        args.shape,
        args.threads,
        folder,
        args.precisions,
        args.calib_images,
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    from litehrnet_mm.analysis.report import busy, heading, load_average

    torch.set_num_threads(args.threads)
    load_before, start = load_average(), time.time()
    warning = busy()
    if warning:
        log(f'warning: {warning}')
    command = 'python tools/analysis/benchmark.py ' + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or scratch
        if args.profile:
            body = run_profile(args, folder)
            runtimes = list(DEFAULT_RUNTIMES)
        elif args.train:
            body = run_train(args)
            runtimes = []
        else:
            body = run_inference(args, folder)
            runtimes = args.runtimes
    h, w = args.shape
    what = f'{args.task}, {h}x{w}'
    seconds_taken = time.time() - start
    print(
        heading(
            what, args.threads, runtimes, load_before, seconds_taken, command
        )
    )
    print()
    print(body)


if __name__ == '__main__':
    run_tool(main)
