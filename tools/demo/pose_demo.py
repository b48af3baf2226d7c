"""Pose demo: train a Lite-HRNet-18 on generated figures through mim, on CPU.

Generates the synthetic pose dataset (or checks one given with
``--data-root``), saves the initialised model, evaluates it with
``mim test`` (the untrained AP), trains it from exactly those weights with
``mim train mmpose``, evaluates the result with ``mim test`` on the
held-out split, draws the predictions under ``work_dirs/demo/pose/vis/``
and ends with::

    pose demo: AP <trained> (untrained <same model before training>)
"""

import argparse
import os
import os.path as osp
import sys
import time
import warnings
from pathlib import Path
from typing import List, Optional

from litehrnet_mm.utils.cli import count, description, key_value, positive_int

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/demo/td-hm_litehrnet-18_synthetic-128x96.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument(
        '--work-dir',
        default='work_dirs/demo/pose',
        help='outputs: checkpoints, logs, pictures (and the data)',
    )
    parser.add_argument(
        '--data-root',
        '--data',
        default=None,
        help='use this dataset (images/{train,val}/, '
        'annotations/{train,val}.json) instead of generating one',
    )
    parser.add_argument('--num-train', type=positive_int, default=640)
    parser.add_argument('--num-val', type=positive_int, default=120)
    parser.add_argument('--num-pictures', type=count, default=8)
    parser.add_argument(
        '--max-epochs',
        type=positive_int,
        default=None,
        help="train this many epochs instead of the config's",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        type=key_value,
        default=[],
        help='extra KEY=VALUE config overrides for mim train and mim test',
    )
    return parser.parse_args(argv)


def fail(msg: str) -> None:
    sys.exit(f'pose demo: {msg}')


def check_dataset(data_root: str) -> None:
    """One clear error, naming the path, for a missing or malformed
    dataset."""
    from litehrnet_mm.datasets import check_coco_keypoints_file

    if not osp.isdir(data_root):
        fail(f'data folder not found: {data_root}')
    if not os.listdir(data_root):
        fail(f'data folder is empty: {data_root}')
    for split in ('train', 'val'):
        ann_file = osp.join(data_root, 'annotations', f'{split}.json')
        try:
            data = check_coco_keypoints_file(
                ann_file, osp.join(data_root, 'images', split)
            )
        except (OSError, ValueError) as err:
            fail(str(err))
        if not data['annotations']:
            fail(f'{ann_file}: no annotated figures')


def mim(args: List[str], log_file: str) -> str:
    """``python -m mim ARGS`` in the repository, its output streamed
    through and kept in ``log_file``; stop on failure."""
    from litehrnet_mm.utils.mim import MimFailed, run_mim

    print('$ mim', ' '.join(args), flush=True)
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    try:
        return run_mim(args, cwd=REPO, log_file=log_file, echo=True)
    except MimFailed as err:
        fail(str(err))


def mim_test(checkpoint: str, work_dir: str, options: List[str]) -> float:
    """``mim test`` the checkpoint; its COCO AP as the run recorded it in
    its json log."""
    from litehrnet_mm.utils.mim import read_test_metrics

    mim(
        ['test', 'mmpose', CONFIG, '--checkpoint', checkpoint]
        + ['--work-dir', work_dir, '--gpus', '0', '--launcher', 'none']
        + options,
        osp.join(work_dir, 'mim_test.log'),
    )
    metrics = read_test_metrics(work_dir)
    if 'coco/AP' not in metrics:
        fail(f'no coco/AP in the json log of mim test {checkpoint}')
    return float(metrics['coco/AP'])


def draw_predictions(
    checkpoint: str, data_root: str, out_dir: str, count: int
) -> List[str]:
    """Draw the trained model's predictions for the first val images, one
    picture each, every figure from its ground-truth box."""
    import json

    import cv2
    import numpy as np
    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    from mmpose.structures import merge_data_samples

    model = init_model(str(REPO / CONFIG), checkpoint, device='cpu')
    visualizer = VISUALIZERS.build(
        dict(
            type='PoseLocalVisualizer',
            name='pose_demo',
            radius=2,
            line_width=1,
        )
    )
    visualizer.set_dataset_meta(model.dataset_meta)
    with open(osp.join(data_root, 'annotations', 'val.json')) as f:
        coco = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for image in coco['images'][:count]:
        boxes = np.array(
            [
                a['bbox']
                for a in coco['annotations']
                if a['image_id'] == image['id']
            ],
            dtype=np.float32,
        ).reshape(-1, 4)
        path = osp.join(data_root, 'images', 'val', image['file_name'])
        results = inference_topdown(model, path, boxes, bbox_format='xywh')
        img = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        out_file = osp.join(out_dir, image['file_name'])
        visualizer.add_datasample(
            'pred',
            img,
            merge_data_samples(results),
            draw_gt=False,
            draw_bbox=True,
            kpt_thr=0.3,
            show=False,
            out_file=out_file,
        )
        written.append(out_file)
    return written


def main(argv: Optional[List[str]] = None) -> None:
    from litehrnet_mm.utils.mim import save_untrained
    from litehrnet_mm.utils.paths import make_folder

    args = parse_args(argv)
    start = time.time()
    # The paths as the user gave them, from where the demo was started;
    # the demo then runs in the repository (mim finds the config there).
    work_dir = osp.abspath(args.work_dir)
    if args.data_root is not None:
        args.data_root = osp.abspath(args.data_root)
    try:
        make_folder(work_dir, '--work-dir')
    except OSError as err:
        fail(str(err))
    os.chdir(REPO)
    options: List[str] = []
    if args.data_root is None:
        from litehrnet_mm.data.synthetic_pose import generate_pose_dataset

        data_root = osp.join(work_dir, 'data')
        print(
            f'generating {args.num_train} train and {args.num_val} val '
            f'images under {data_root}',
            flush=True,
        )
        generate_pose_dataset(
            data_root, num_train=args.num_train, num_val=args.num_val
        )
    else:
        data_root = args.data_root
    check_dataset(data_root)
    root = data_root.rstrip('/') + '/'
    # Where the config expects the data (work_dirs/demo/pose/data/) unless
    # told otherwise.
    for loader in ('train', 'val', 'test'):
        options.append(f'{loader}_dataloader.dataset.data_root={root}')
    for evaluator in ('val', 'test'):
        options.append(
            f'{evaluator}_evaluator.ann_file={root}annotations/val.json'
        )
    if args.max_epochs is not None:
        options.append(f'train_cfg.max_epochs={args.max_epochs}')
        options.append(f'default_hooks.checkpoint.interval={args.max_epochs}')
    options += args.cfg_options
    cfg_options = ['--cfg-options'] + options

    init_ckpt = osp.join(work_dir, 'untrained.pth')
    save_untrained(CONFIG, init_ckpt, options)
    untrained = mim_test(init_ckpt, osp.join(work_dir, 'test_untrained'),
                         cfg_options)  # fmt: skip

    train_dir = osp.join(work_dir, 'train')
    mim(
        ['train', 'mmpose', CONFIG, '--gpus', '0', '--launcher', 'none']
        + ['--work-dir', train_dir]
        + cfg_options
        + [f'load_from={init_ckpt}'],
        osp.join(work_dir, 'mim_train.log'),
    )
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        trained_ckpt = f.read().strip()
    trained = mim_test(trained_ckpt, osp.join(work_dir, 'test'), cfg_options)

    pictures = draw_predictions(
        trained_ckpt, data_root, osp.join(work_dir, 'vis'), args.num_pictures
    )
    print(
        f'{len(pictures)} pictures of predictions under '
        f'{osp.join(work_dir, "vis")}; total {time.time() - start:.0f} s',
        flush=True,
    )
    print(f'pose demo: AP {trained:.3f} (untrained {untrained:.3f})')


if __name__ == '__main__':
    main()
