"""Accuracy of every runtime and precision on a trained model: each pair
exported by ``tools/deploy/export.py``, then all of them through the
host's own test loop (``tools/deploy/evaluate.py``'s), in one table.

    python tools/deploy/accuracy.py CONFIG CHECKPOINT --shape H W \\
        [--runtimes R ...] [--precisions P ...] [--out-dir DIR] \\
        [--calib-images 300] [--max-drop DROP] [--threads N] \\
        [--cfg-options KEY=VALUE ...]

Each export runs in a process of its own (the converters and NNCF keep
state between runs); the artifacts land in ``--out-dir`` (default
``work_dirs/accuracy/<config name>``) with the export log beside them.
A reduced precision ships when it loses at most 0.01 AP (pose) or 1 mIoU
(segmentation) against PyTorch's fp32 metric; the table says which do, and
is written to ``accuracy.md`` in the output folder too. ``--max-drop``
adds a row: OpenVINO int8 exported with NNCF's accuracy control at that
drop, measured on the training split (``export.py --max-drop``). Segmentation
configs must test at the exported size.
"""

import argparse
import os
import os.path as osp
import subprocess
import sys
import time

from litehrnet_mm.analysis.grid import SUFFIXES
from litehrnet_mm.analysis.models import load_config
from litehrnet_mm.deploy.evaluate import check_inputs, host_metrics, ships
from litehrnet_mm.deploy.export import (
    all_precisions,
    check_accuracy_control,
    check_pair,
)
from litehrnet_mm.deploy.exporters import PRECISIONS
from litehrnet_mm.errors import DeployError
from litehrnet_mm.utils.cli import (
    CfgOptions,
    description,
    positive_int,
    run_tool,
)
from litehrnet_mm.utils.paths import make_folder

EXPORT = osp.join(osp.dirname(osp.abspath(__file__)), 'export.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--shape',
        type=positive_int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
    )
    parser.add_argument(
        '--runtimes', nargs='+', default=sorted(PRECISIONS), metavar='R'
    )
    parser.add_argument(
        '--precisions',
        nargs='+',
        default=['fp32', 'bf16', 'fp16', 'int8'],
        metavar='P',
        help='each runtime exports those of these it has',
    )
    parser.add_argument('--out-dir')
    parser.add_argument('--calib-images', type=positive_int, default=300)
    parser.add_argument(
        '--max-drop',
        type=float,
        help='add OpenVINO int8 with accuracy control at this drop',
    )
    parser.add_argument('--threads', type=positive_int, default=os.cpu_count())
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    args = parser.parse_args(argv)
    for runtime in args.runtimes:
        try:
            check_pair(runtime, 'fp32')
        except ValueError as e:
            parser.error(str(e))
    known = all_precisions()
    unknown = [p for p in args.precisions if p not in known]
    if unknown:
        parser.error(
            f'--precisions {" ".join(unknown)}: no runtime has it; expected '
            f'some of {", ".join(known)}'
        )
    try:
        check_accuracy_control('openvino', 'int8', args.max_drop)
    except ValueError as e:
        parser.error(str(e))
    if not osp.isfile(args.checkpoint):
        parser.error(
            f'checkpoint {args.checkpoint} not found; expected the .pth '
            'file of a trained model (e.g. make demo writes them)'
        )
    return args


def export_all(args, config: str, out_dir: str) -> list:
    """``[(runtime, precision label, path or None, seconds)]``: every pair of
    ``config`` (the config with ``--cfg-options`` merged), each exported
    in a subprocess; a failed export keeps None and its log."""
    jobs = [
        (r, p, p, [])
        for r in args.runtimes
        for p in PRECISIONS[r]
        if p in args.precisions
    ]
    if args.max_drop is not None:
        drop = f'{args.max_drop:g}'
        jobs.append(
            ('openvino', 'int8', f'int8, drop <= {drop}', ['--max-drop', drop])
        )
    done = []
    for i, (runtime, precision, label, extra) in enumerate(jobs, 1):
        name = f'{runtime}_{precision}' + ('_control' if extra else '')
        path = osp.join(out_dir, name + SUFFIXES[runtime])
        log = path + '.log'
        print(
            f'[{i}/{len(jobs)}] export {runtime} {label} -> {path}',
            flush=True,
        )
        command = [
            sys.executable,
            EXPORT,
            config,
            args.checkpoint,
            '--runtime',
            runtime,
            '--precision',
            precision,
            '--shape',
            *map(str, args.shape),
            '--output',
            path,
            '--calib-images',
            str(args.calib_images),
            *extra,
        ]
        start = time.perf_counter()
        with open(log, 'w') as f:
            status = subprocess.run(
                command, stdout=f, stderr=subprocess.STDOUT
            ).returncode
        seconds = time.perf_counter() - start
        if status != 0:
            with open(log) as f:
                tail = f.read().strip().splitlines()[-1:]
            print(f'    failed ({tail[0] if tail else status}); see {log}')
            path = None
        done.append((runtime, label, path, seconds))
    return done


def runs_otherwise(path: str):
    """The precision the runtime actually runs ``path`` in, where that is
    not the one asked for (OpenVINO compiles a bf16 hint as f32 on a CPU
    without bf16), else None."""
    import warnings

    from litehrnet_mm.deploy.runtimes import load_runtime

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the runtime's own note of it
        runtime = load_runtime(path, threads=1)
    asked = getattr(runtime, 'inference_precision', None)
    compiled = getattr(runtime, 'compiled_precision', None)
    return compiled if asked and compiled and asked != compiled else None


def table(exports, metrics, key, bound, otherwise=None) -> list:
    """Markdown rows: each artifact's metric, its change against PyTorch
    and whether it ships (``otherwise``: path -> the precision it ran in
    instead of its own: not measured, so it does not ship)."""
    from litehrnet_mm.deploy.artifact import read_metadata

    otherwise = otherwise or {}

    base = metrics['PyTorch'][key]
    lines = [
        f'| runtime | precision | {key} | vs PyTorch fp32 | max abs diff '
        '/ output scale | ships |',
        '| --- | --- | --- | --- | --- | --- |',
        f'| PyTorch | fp32 | {base:.4f} | | | |',
    ]
    for runtime, precision, path, _ in exports:
        if path is None:
            lines.append(
                f'| {runtime} | {precision} | export failed | | | no |'
            )
            continue
        meta = read_metadata(path)
        value = metrics[path][key]
        change = value - base
        relative = meta['max_abs_diff'] / max(1.0, meta['output_scale'])
        verdict = ships(precision, change, bound)
        if path in otherwise:
            verdict = f'not measured: ran in {otherwise[path]} here'
        lines.append(
            f'| {runtime} | {precision} | {value:.4f} | {change:+.4f} | '
            f'{relative:.1e} | {verdict} |'
        )
    return lines


def main(argv=None):
    args = parse_args(argv)
    name = osp.splitext(osp.basename(args.config))[0]
    out_dir = args.out_dir or osp.join('work_dirs', 'accuracy', name)
    cfg = load_config(args.config, args.cfg_options)
    check_inputs(cfg, args.checkpoint, threads=args.threads)
    make_folder(out_dir, '--out-dir', DeployError)
    # The exports read the merged config from a file: --cfg-options as
    # given would need quoting again for a command line.
    config = osp.join(out_dir, osp.basename(args.config))
    cfg.dump(config)
    exports = export_all(args, config, out_dir)
    artifacts = [path for _, _, path, _ in exports if path]
    print(
        f'evaluating PyTorch and {len(artifacts)} artifacts in the host '
        'test loop',
        flush=True,
    )
    key, bound, metrics = host_metrics(
        cfg, args.checkpoint, artifacts, threads=args.threads
    )
    otherwise = {p: runs_otherwise(p) for p in artifacts}
    otherwise = {p: ran for p, ran in otherwise.items() if ran}
    lines = table(exports, metrics, key, bound, otherwise)
    lines.append(
        f'\n(a reduced precision ships when it loses at most {bound} {key} '
        'against PyTorch fp32)'
    )
    text = '\n'.join(lines)
    with open(osp.join(out_dir, 'accuracy.md'), 'w') as f:
        f.write(text + '\n')
    print('\n' + text)
    # OpenVINO's and NNCF's teardown at interpreter exit has crashed after
    # everything was written (openvino 2026.4): exit with our own status.
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    run_tool(main)
