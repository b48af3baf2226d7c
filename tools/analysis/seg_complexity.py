"""Parameters and FLOPs of the segmentation configs, as a markdown table.

    python tools/analysis/seg_complexity.py                 # every config
    python tools/analysis/seg_complexity.py CONFIG --shape 512 1024
    python tools/analysis/seg_complexity.py --without-head  # the other choice

Counting convention: ``torch.utils.flop_counter.FlopCounterMode`` counts 2
FLOPs per multiply-accumulate of every conv and matmul it sees (norms,
activations, pooling and resizing count 0); the table gives
multiply-accumulates (MACs = FLOPs / 2) in units of 10^9, which is what
papers of this family call "FLOPs". The whole model (backbone and decode
head) runs in eval mode on one image of the given shape. mmengine's own
counter (``get_model_complexity_info``) fails under torch >= 2.13.
"""

import argparse
import glob
import os.path as osp
from typing import List, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The paper's Cityscapes models, in its units ("GFLOPs").
PAPER = {'18': 1.95, '30': 3.02}


def measure(
    config: str, shape: Tuple[int, int], without_head: bool = False
) -> dict:
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    cfg = Config.fromfile(config)
    if without_head:
        cfg.model.backbone.with_head = False
        channels = [40, 80, 160, 320]
        cfg.model.decode_head.in_channels = channels
        cfg.model.decode_head.channels = sum(channels)
    init_default_scope('mmseg')
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    x = torch.rand(1, 3, *shape)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            feats = model.backbone(x)
        backbone = counter.get_total_flops() / 2
        with FlopCounterMode(display=False) as counter:
            model.decode_head(feats)
        head = counter.get_total_flops() / 2

    def params(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    return dict(
        config=osp.basename(config),
        arch=cfg.model.backbone.arch,
        with_head=cfg.model.backbone.with_head,
        params=params(model) / 1e6,
        params_backbone=params(model.backbone) / 1e6,
        macs=(backbone + head) / 1e9,
        macs_backbone=backbone / 1e9,
        macs_head=head / 1e9,
    )


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='*')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W')
    )
    parser.add_argument(
        '--without-head',
        action='store_true',
        help='measure the configs with the iterative head switched off '
        '(head on the 40/80/160/320 branches, 600 channels)',
    )
    args = parser.parse_args(argv)
    configs = args.configs or sorted(
        glob.glob(osp.join(REPO, 'configs', 'seg', '[!_]*', '*.py'))
    )
    h, w = args.shape
    print(
        f'| config | iterative head | params (M) | backbone GMACs | '
        f'decode head GMACs | total GMACs at {h}x{w} | paper GFLOPs |'
    )
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for config in configs:
        r = measure(config, (h, w), args.without_head)
        paper = PAPER.get(r['arch'], '') if 'cityscapes' in config else ''
        print(
            f'| {r["config"]} | {"yes" if r["with_head"] else "no"} | '
            f'{r["params"]:.3f} ({r["params_backbone"]:.3f} backbone) | '
            f'{r["macs_backbone"]:.2f} | {r["macs_head"]:.2f} | '
            f'{r["macs"]:.2f} | {paper} |',
            flush=True,
        )


if __name__ == '__main__':
    main()
