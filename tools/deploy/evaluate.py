"""Accuracy of exported models (any runtime, any precision) through the
host's own test loop, against the PyTorch model and against each other.

    python tools/deploy/evaluate.py CONFIG CHECKPOINT ARTIFACT \\
        [ARTIFACT ...] [--threads N] [--cfg-options KEY=VALUE ...]

Each ARTIFACT is a file written by ``tools/deploy/export.py`` from the same
config and checkpoint (its metadata names the runtime and the precision it
runs at). The host's test loop runs once with the PyTorch model and once
per artifact, the artifact standing in for backbone and head (the data
pipeline, flip test, decoding and metric stay the host's), and a table
gives each one's metric and its loss against the fp32 artifact (else
PyTorch). A reduced precision ships when it loses at most 0.01 AP (pose)
or 1 mIoU (segmentation). Segmentation configs must test at the exported
size (a fixed test resize, or images of that size).
"""

import argparse
import os
import sys

from litehrnet_mm.analysis.models import load_config
from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.evaluate import check_inputs, host_metrics, ships
from litehrnet_mm.deploy.runtimes import runtime_of
from litehrnet_mm.utils import cli


def table(metrics, key, bound, precisions):
    """Markdown rows and the verdict of each reduced precision."""
    reference = next(
        (p for p, prec in precisions.items() if prec == 'fp32'), 'PyTorch'
    )
    base = metrics[reference][key]
    lines = [
        f'| model | runtime | precision | {key} | vs '
        f'{os.path.basename(reference)} | ships |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for name, m in metrics.items():
        if name == 'PyTorch':
            runtime, precision = 'PyTorch', 'fp32'
        else:
            runtime, precision = runtime_of(name) or '?', precisions[name]
        change = m[key] - base
        # An artifact without metadata (a plain .onnx or .xml) is of a
        # precision nobody said: shown, not judged, not the reference.
        verdict = ships(precision, change, bound) if precision else ''
        lines.append(
            f'| {os.path.basename(name)} | {runtime} '
            f'| {precision or "unknown (no metadata)"} | {m[key]:.4f} | '
            f'{change:+.4f} | {verdict} |'
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=cli.description(__doc__))
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('artifacts', nargs='+')
    parser.add_argument(
        '--threads', type=cli.positive_int, default=os.cpu_count()
    )
    parser.add_argument('--cfg-options', nargs='+', action=cli.CfgOptions)
    args = parser.parse_args(argv)
    for path in args.artifacts:
        if not os.path.isfile(path):
            parser.error(
                f'{path} not found; expected an artifact written by '
                'tools/deploy/export.py'
            )
    cfg = load_config(args.config, args.cfg_options)
    precisions = {p: read_metadata(p).get('precision') for p in args.artifacts}
    check_inputs(cfg, args.checkpoint, args.artifacts, args.threads)
    key, bound, metrics = host_metrics(
        cfg, args.checkpoint, args.artifacts, threads=args.threads
    )
    print('\n' + '\n'.join(table(metrics, key, bound, precisions)))
    print(
        f'\n(a reduced precision ships when it loses at most {bound} '
        f'{key} against fp32)'
    )
    # OpenVINO's and NNCF's teardown at interpreter exit has crashed after
    # everything was written (openvino 2026.4): exit with our own status.
    sys.stdout.flush()
    os._exit(0)


if __name__ == '__main__':
    cli.run_tool(main)
