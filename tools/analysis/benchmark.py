"""Latency (batch 1), throughput (batch 16) and training-step time of
Lite-HRNet against mmpose's port, in one process with interleaved rounds.

    python tools/analysis/benchmark.py [--arch 18] [--shape 256 192]
        [--rounds 40 8] [--train-rounds 6] [--no-compile] [--no-onnx]
        [--no-train] [--no-infer] [--threads N]

Progress goes to stderr; the markdown table (medians, ratios to the port)
to stdout, headed by the date, the machine and its load.
"""

import argparse
import os
import platform
import time

import torch

from litehrnet_mm.analysis.benchmark import format_table, run_benchmark
from litehrnet_mm.analysis.models import parse_shape


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f'{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads'
    )


def load() -> str:
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='18')
    parser.add_argument('--shape', type=int, nargs='+', default=[256, 192])
    parser.add_argument('--batch-sizes', type=int, nargs=2, default=[1, 16])
    parser.add_argument('--rounds', type=int, nargs=2, default=[40, 8])
    parser.add_argument('--train-rounds', type=int, default=6)
    parser.add_argument('--no-compile', action='store_true')
    parser.add_argument('--no-onnx', action='store_true')
    parser.add_argument('--no-train', action='store_true')
    parser.add_argument('--no-infer', action='store_true')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    load_before = load()
    start = time.time()
    results = run_benchmark(
        arch=args.arch,
        shape=parse_shape(args.shape),
        batch_sizes=args.batch_sizes,
        rounds=args.rounds,
        train_rounds=args.train_rounds,
        with_compile=not args.no_compile,
        with_onnx=not args.no_onnx,
        with_train=not args.no_train,
        with_infer=not args.no_infer,
    )
    h, w = parse_shape(args.shape)
    print(
        f'Lite-HRNet-{args.arch} + 1x1 head, {h}x{w}, fp32, '
        f'{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}; '
        f'{machine()}; load average {load_before} before, {load()} after; '
        f'{time.time() - start:.0f} s'
    )
    print()
    print(format_table(results))


if __name__ == '__main__':
    main()
