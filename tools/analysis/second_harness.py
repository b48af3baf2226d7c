"""The benchmark's OpenVINO figures in a second harness: OpenVINO's own
benchmark_app on the artifacts the benchmark kept.

    python tools/analysis/benchmark.py --models ours-18 mobilenetv2 \\
        --runtimes openvino --precisions fp32 int8 --no-torch --keep DIR
    python tools/analysis/second_harness.py DIR --threads 2

Markdown to stdout (latency, images per second, the ratio to the first
artifact), progress to stderr; see
:mod:`litehrnet_mm.analysis.second_harness`.
"""

import argparse
import glob
import os
import shlex
import sys
import time

from litehrnet_mm.utils.cli import description, positive_int, run_tool


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('artifacts', nargs='+', help='.xml files or folders')
    parser.add_argument('--threads', type=positive_int, default=os.cpu_count())
    parser.add_argument('--rounds', type=positive_int, default=3)
    parser.add_argument('--seconds', type=positive_int, default=5)
    args = parser.parse_args(argv)

    from litehrnet_mm.analysis.report import heading, load_average
    from litehrnet_mm.analysis.second_harness import time_artifacts
    from litehrnet_mm.deploy.artifact import read_metadata

    files = []
    for given in args.artifacts:
        found = sorted(glob.glob(os.path.join(given, '*.xml')))
        files += found if os.path.isdir(given) else [given]
    missing = [f for f in files if not os.path.isfile(f)]
    if not files or missing:
        parser.error(
            f'no OpenVINO artifact at {missing or args.artifacts}; expected '
            '.xml files or folders of them (benchmark.py --keep DIR)'
        )
    for file in files:
        weights = os.path.splitext(file)[0] + '.bin'
        if not file.lower().endswith('.xml') or not os.path.isfile(weights):
            parser.error(
                f'{file}: not an OpenVINO IR with its {weights}; expected '
                '.xml files (each with its .bin) or folders of them'
            )
    load_before, start = load_average(), time.time()

    def log(message):
        print(message, file=sys.stderr, flush=True)

    latency = time_artifacts(
        files, args.threads, args.rounds, args.seconds, log
    )
    command = 'python tools/analysis/second_harness.py ' + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    what = "OpenVINO's benchmark_app"
    seconds = time.time() - start
    print(
        heading(
            what, args.threads, ['openvino'], load_before, seconds, command
        )
    )
    print()
    print('| artifact | batch | ms | img/s | x first |')
    print('| --- | --- | --- | --- | --- |')
    first = None
    for file in files:
        batch = read_metadata(file).get('input_shape', [1])[0]
        ms = latency[file]
        first = first or ms / batch
        print(
            f'| {os.path.basename(file)} | {batch} | {ms:.2f} | '
            f'{1e3 * batch / ms:.0f} | {first / (ms / batch):.2f} |'
        )


if __name__ == '__main__':
    run_tool(main)
