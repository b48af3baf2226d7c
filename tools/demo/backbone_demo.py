"""Backbone demo: every preset on a real-sized input, with its parameters,
output maps and CPU latency (the pose and segmentation demos train models;
this one only shows what the backbone returns)."""

import argparse
import time

import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.utils.cli import description


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.parse_args(argv)  # no options: --help, or an error for any
    torch.manual_seed(0)
    x = torch.rand(1, 3, 256, 192)
    print(
        f'{"arch":16} {"params":>9}  outputs (out_indices=(0, 1, 2, 3)) '
        'at 256x192, latency at batch 1'
    )
    for arch in LiteHRNet.arch_zoo:
        model = LiteHRNet(arch=arch, out_indices=(0, 1, 2, 3)).eval()
        params = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            outs = model(x)
            start = time.perf_counter()
            for _ in range(5):
                model(x)
        ms = (time.perf_counter() - start) / 5 * 1e3
        shapes = ' '.join('x'.join(map(str, o.shape[1:])) for o in outs)
        print(f'{arch:16} {params / 1e6:8.3f}M  {shapes}  {ms:.0f} ms')


if __name__ == '__main__':
    main()
