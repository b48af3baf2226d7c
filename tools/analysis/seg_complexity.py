"""Parameters and conv MACs of the segmentation configs, as a markdown table.

    python tools/analysis/seg_complexity.py                 # every config
    python tools/analysis/seg_complexity.py CONFIG --shape 512 1024
    python tools/analysis/seg_complexity.py --without-head  # the other choice

Counting convention: ``macs_ours`` of
:func:`litehrnet_mm.analysis.complexity.complexity` (what this package
computes), every conv call, multiply-accumulates
(``FlopCounterMode`` FLOPs / 2, what papers of this family call "FLOPs"),
in units of 10^9. The whole model (backbone and decode head) runs in eval
mode on one image of the given shape; the head's share is the whole minus
the backbone's.
"""

import argparse
import glob
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.config import Config

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.complexity import complexity
from litehrnet_mm.analysis.models import (
    build_from_config,
    load_config,
    scope_of,
)
from litehrnet_mm.errors import ConfigError
from litehrnet_mm.utils.cli import description, positive_int, run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The paper's Cityscapes models, in its units ("GFLOPs").
PAPER = {'18': 1.95, '30': 3.02}


def without_iterative_head(cfg: Config) -> Config:
    """The config with the backbone's iterative head off and the FCN head
    reading the branches' own channels."""
    cfg.model.backbone.with_head = False
    backbone = {k: v for k, v in cfg.model.backbone.items() if k != 'type'}
    channels = list(LiteHRNet(**backbone).out_channels)
    cfg.model.decode_head.in_channels = channels
    cfg.model.decode_head.channels = sum(channels)
    return cfg


def check_config(config: str) -> Config:
    """The config, when it is a segmentation config with a Lite-HRNet
    backbone of this package.

    Raises:
        ConfigError: another task's config, or another backbone.
    """
    cfg = load_config(config)
    if scope_of(cfg) != 'mmseg':
        raise ConfigError(
            f'config {config}: not a segmentation config; expected an mmseg '
            'config (e.g. configs/seg/cityscapes/*.py)'
        )
    backbone = cfg.model.get('backbone', {}).get('type', '')
    if not str(backbone).endswith('LiteHRNet'):
        raise ConfigError(
            f'config {config}: backbone {backbone!r}; expected a config '
            "whose backbone is type='litehrnet_mm.LiteHRNet' (for other "
            'models: tools/analysis/complexity.py CONFIG)'
        )
    return cfg


def measure(
    config: str, shape: Tuple[int, int], without_head: bool = False
) -> dict:
    cfg = check_config(config)
    if without_head:
        cfg = without_iterative_head(cfg)
    model = build_from_config(cfg)
    whole = complexity(model, shape, conventions=('macs',))
    backbone = complexity(model.backbone, shape, conventions=('macs',))
    return dict(
        config=osp.basename(config),
        arch=model.backbone.arch,
        with_head=model.backbone.with_head,
        params=whole['params'] / 1e6,
        params_backbone=backbone['params'] / 1e6,
        macs=whole['macs_ours'] / 1e3,
        macs_backbone=backbone['macs_ours'] / 1e3,
        macs_head=(whole['macs_ours'] - backbone['macs_ours']) / 1e3,
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('configs', nargs='*')
    parser.add_argument(
        '--shape',
        type=positive_int,
        nargs=2,
        default=(512, 1024),
        metavar=('H', 'W'),
    )
    parser.add_argument(
        '--without-head',
        action='store_true',
        help='measure the configs with the iterative head switched off '
        '(the FCN head on the branches as they are)',
    )
    args = parser.parse_args(argv)
    configs = args.configs or sorted(
        glob.glob(osp.join(REPO, 'configs', 'seg', '[!_]*', '*.py'))
    )
    for config in configs:  # every config's error before a row is printed
        check_config(config)
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
    run_tool(main)
