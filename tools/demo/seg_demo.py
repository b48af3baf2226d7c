"""Segmentation demo: generate the synthetic dataset, train Lite-HRNet-18
on it with ``mim train mmseg`` on CPU, evaluate it with ``mim test`` before
and after training, and draw ``MMSegInferencer``'s predictions of held-out
images next to the images and their ground truth.

Everything goes under ``work_dirs/demo/seg/`` (``--work-dir``: the data
in ``data/``, the runs, the pictures), as the pose demo's under
``work_dirs/demo/pose/``; the last line reads::

    seg demo: mIoU <trained> (untrained <same model before training>)

in percent on the held-out split. "Untrained" is the very checkpoint that
training starts from (``load_from``), so the two numbers differ by the
training alone.

Usage (from the repository root)::

    python tools/demo/seg_demo.py                # generate, train, test
    python tools/demo/seg_demo.py --data DIR     # use a dataset in DIR
"""

import argparse
import glob
import os
import os.path as osp
import time
from typing import List, Optional

from litehrnet_mm.utils.cli import count, description, key_value, positive_int

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO,
    'configs',
    'demo',
    'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py',
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument(
        '--data',
        '--data-root',
        help='an existing dataset in the img_dir/ann_dir layout (default: '
        'generate one under WORK_DIR/data)',
    )
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'demo', 'seg'),
        help='where data, checkpoints, logs and pictures go',
    )
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--num-train', type=positive_int, default=400)
    parser.add_argument('--num-val', type=positive_int, default=100)
    parser.add_argument(
        '--num-pictures',
        type=count,
        default=8,
        help='held-out images to draw with their prediction',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        type=key_value,
        default=[],
        help='extra key=value config overrides for mim train and mim test',
    )
    return parser.parse_args(argv)


def mim(args: List[str], log_file: str) -> None:
    """``python -m mim ARGS`` in the repository, its output streamed
    through and kept in ``log_file``; stop on failure."""
    from litehrnet_mm.utils.mim import MimFailed, child_env, run_mim

    # One compute thread: with the data loader's worker that fills the 2
    # cores the demo is sized for, without the two oversubscribing them
    # (torch's second thread only spins then). Set it to override.
    env = child_env()
    env.setdefault('OMP_NUM_THREADS', '1')
    print('$ mim', ' '.join(args), flush=True)
    os.makedirs(osp.dirname(log_file), exist_ok=True)
    try:
        run_mim(args, cwd=REPO, env=env, log_file=log_file, echo=True)
    except MimFailed as err:
        raise SystemExit(f'seg demo: {err}') from None


def evaluate_miou(
    config: str, checkpoint: str, work_dir: str, options: List[str]
) -> float:
    """``mim test`` the checkpoint; its mIoU (percent) as the run recorded
    it in its json log."""
    from litehrnet_mm.utils.mim import read_test_metrics

    args = ['test', 'mmseg', config, '--checkpoint', checkpoint]
    args += ['--work-dir', work_dir, '--gpus', '0', '--launcher', 'none']
    if options:
        args += ['--cfg-options'] + options
    mim(args, osp.join(work_dir, 'mim_test.log'))
    return float(read_test_metrics(work_dir)['mIoU'])


def draw_pictures(
    config: str, checkpoint: str, data_root: str, out_dir: str, count: int
) -> List[str]:
    """``MMSegInferencer``'s predictions of the first ``count`` held-out
    images, each drawn next to its image and ground truth, scaled up, with
    a legend of the classes (:func:`litehrnet_mm.visualization.
    draw_seg_panels`)."""
    import cv2
    from mmseg.apis import MMSegInferencer

    from litehrnet_mm.visualization import draw_seg_panels

    images = sorted(glob.glob(osp.join(data_root, 'img_dir', 'val', '*')))
    images = images[:count]
    inferencer = MMSegInferencer(
        model=config, weights=checkpoint, device='cpu'
    )
    predictions = inferencer(images)['predictions']
    if len(images) == 1:
        predictions = [predictions]
    meta = inferencer.model.dataset_meta
    os.makedirs(out_dir, exist_ok=True)
    pictures = []
    for image, prediction in zip(images, predictions):
        name = osp.basename(image)
        labels = cv2.imread(
            osp.join(data_root, 'ann_dir', 'val', name), cv2.IMREAD_UNCHANGED
        )
        picture = draw_seg_panels(
            cv2.imread(image),
            labels,
            prediction,
            meta['classes'],
            meta['palette'],
        )
        pictures.append(osp.join(out_dir, osp.splitext(name)[0] + '.png'))
        cv2.imwrite(pictures[-1], picture)
    return pictures


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    from mmengine.config import Config

    from litehrnet_mm.data.synthetic_seg import (
        check_seg_dataset,
        generate_seg_dataset,
    )
    from litehrnet_mm.errors import DatasetError
    from litehrnet_mm.utils.mim import save_untrained
    from litehrnet_mm.utils.paths import make_folder

    start = time.perf_counter()
    # The images are generated at the size the config trains on.
    crop_size = tuple(Config.fromfile(args.config).crop_size)
    seg_dir = osp.abspath(args.work_dir)
    try:
        make_folder(seg_dir, '--work-dir', DatasetError)
        if args.data is None:
            data_root = osp.join(seg_dir, 'data')
            generate_seg_dataset(
                data_root, args.num_train, args.num_val, size=crop_size
            )
        else:
            data_root = osp.abspath(args.data)
        counts = check_seg_dataset(data_root)
    except DatasetError as err:
        raise SystemExit(f'seg demo: {err}') from None
    print(
        f'seg demo: {counts["train"]} training and {counts["val"]} '
        f'held-out images in {data_root}',
        flush=True,
    )

    options = list(args.cfg_options)
    options += [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
    ]
    untrained = osp.join(seg_dir, 'untrained.pth')
    save_untrained(args.config, untrained, options)
    miou_untrained = evaluate_miou(
        args.config, untrained, osp.join(seg_dir, 'test_untrained'), options
    )
    print(f'seg demo: untrained mIoU {miou_untrained:.2f}', flush=True)

    train_dir = osp.join(seg_dir, 'train')
    train_args = ['train', 'mmseg', args.config, '--work-dir', train_dir]
    train_args += ['--gpus', '0', '--launcher', 'none']
    train_args += ['--cfg-options', f'load_from={untrained}'] + options
    print('seg demo: training (mim train mmseg) ...', flush=True)
    mim(train_args, osp.join(seg_dir, 'mim_train.log'))
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        trained = f.read().strip()

    miou = evaluate_miou(
        args.config, trained, osp.join(seg_dir, 'test_trained'), options
    )
    pictures = draw_pictures(
        args.config,
        trained,
        data_root,
        osp.join(seg_dir, 'pictures'),
        args.num_pictures,
    )
    minutes = (time.perf_counter() - start) / 60
    print(
        f'seg demo: {len(pictures)} pictures (image, ground truth, '
        f'prediction) in {osp.join(seg_dir, "pictures")}; '
        f'{minutes:.1f} min in all',
        flush=True,
    )
    print(f'seg demo: mIoU {miou:.2f} (untrained {miou_untrained:.2f})')


if __name__ == '__main__':
    main()
