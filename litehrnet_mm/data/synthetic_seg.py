"""A synthetic semantic segmentation dataset, generated on the spot.

Every image holds one to three objects of five classes on a noisy
background with clutter. A class is its shape, its texture and a typical
hue: every object is drawn in two tones (a light and a dark version of
its class's palette colour, jittered), so no object is a flat colour, and
the clutter takes colours from the whole range, so colour alone does not
tell an object from clutter:

=========  ===========  ============================================
label      shape        texture
=========  ===========  ============================================
0          background   smooth colour gradient, noise, clutter
1 disc     filled disc  parallel stripes (random direction)
2 square   square       checkerboard
3 triangle triangle     dots on a grid
4 ring     annulus      speckle (per-pixel random two-tone)
5 cross    plus sign    concentric waves around its centre
=========  ===========  ============================================

Clutter (thin lines and small blobs with random colours) is background.
Objects may overlap; the one drawn last owns the pixels.

The layout is mmseg's generic one, read by ``BaseSegDataset`` with
``img_suffix='.png'`` and ``seg_map_suffix='.png'``::

    root/img_dir/{train,val}/00000.png   BGR images
    root/ann_dir/{train,val}/00000.png   uint8 labels 0..5

Example:
    >>> from litehrnet_mm.data.synthetic_seg import generate_seg_dataset
    >>> counts = generate_seg_dataset('work_dirs/seg_data', 200, 50)
"""

import os
import os.path as osp
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from litehrnet_mm.errors import DatasetError

CLASSES: Tuple[str, ...] = (
    'background',
    'disc',
    'square',
    'triangle',
    'ring',
    'cross',
)
PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (0, 0, 0),
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
)
SPLITS: Tuple[str, ...] = ('train', 'val')


def _shape_mask(
    label: int, u: np.ndarray, v: np.ndarray, size: float
) -> np.ndarray:
    """The mask of a class's shape in object coordinates (u, v): rotated
    and centred on the object, ``size`` its outer radius."""
    r = np.hypot(u, v)
    if label == 1:
        return r < size
    if label == 2:
        return np.maximum(np.abs(u), np.abs(v)) < 0.8 * size
    if label == 3:
        # Equilateral: three half-planes at 120 degrees, inradius size/2.
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            a = 2 * np.pi * k / 3 + np.pi / 2
            inside &= u * np.cos(a) + v * np.sin(a) < 0.5 * size
        return inside
    if label == 4:
        return (r < size) & (r > 0.55 * size)
    if label == 5:
        arm = 0.32 * size
        return ((np.abs(u) < arm) & (np.abs(v) < size)) | (
            (np.abs(v) < arm) & (np.abs(u) < size)
        )
    raise ValueError(f'unknown object label {label}')


def _texture(
    label: int,
    rng: np.random.Generator,
    u: np.ndarray,
    v: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """The two-tone pattern of a class (bool: which of the two colours)."""
    # Coarse enough to survive the network's stride-4 stem.
    period = rng.uniform(0.08, 0.12) * min(x.shape)
    if label == 1:
        a = rng.uniform(0, np.pi)
        return np.sin(2 * np.pi * (x * np.cos(a) + y * np.sin(a)) / period) > 0
    if label == 2:
        cell = max(2, int(round(0.6 * period)))
        return ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(bool)
    if label == 3:
        du = (u % period) - period / 2
        dv = (v % period) - period / 2
        return np.hypot(du, dv) < 0.3 * period
    if label == 4:
        return rng.random(u.shape) < 0.5
    if label == 5:
        return np.sin(2 * np.pi * np.hypot(u, v) / (0.7 * period)) > 0
    raise ValueError(f'unknown object label {label}')


def _background(
    rng: np.random.Generator, h: int, w: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.uniform(0, 255, (2, 3))
    a = rng.uniform(0, 2 * np.pi)
    t = (x * np.cos(a) + y * np.sin(a)) / max(h, w)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0 + (c1 - c0) * t[..., None]
    img += rng.normal(0, 12, img.shape)
    return img, x, y


def _clutter(rng: np.random.Generator, img: np.ndarray) -> None:
    h, w = img.shape[:2]
    for _ in range(rng.integers(2, 6)):
        p0 = tuple(int(c) for c in rng.integers(0, (w, h)))
        p1 = tuple(int(c) for c in rng.integers(0, (w, h)))
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        cv2.line(img, p0, p1, colour, int(rng.integers(1, 3)))
    for _ in range(rng.integers(2, 6)):
        centre = tuple(int(c) for c in rng.integers(0, (w, h)))
        axes = tuple(int(c) for c in rng.integers(1, max(2, h // 16), 2))
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(img, centre, axes, angle, 0, 360, colour, -1)


def make_sample(
    rng: np.random.Generator, size: Tuple[int, int] = (64, 64)
) -> Tuple[np.ndarray, np.ndarray]:
    """One image (uint8 BGR, HxWx3) and its label map (uint8, HxW)."""
    h, w = size
    img, x, y = _background(rng, h, w)
    _clutter(rng, img)
    label_map = np.zeros((h, w), np.uint8)
    scale = min(h, w)
    for _ in range(rng.integers(1, 4)):
        label = int(rng.integers(1, len(CLASSES)))
        radius = rng.uniform(0.18, 0.3) * scale
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        angle = rng.uniform(0, 2 * np.pi)
        u = (x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)
        v = -(x - cx) * np.sin(angle) + (y - cy) * np.cos(angle)
        mask = _shape_mask(label, u, v, radius)
        tex = _texture(label, rng, u, v, x, y)
        # A light and a dark tone of the class's hue, jittered.
        hue = np.array(PALETTE[label], float)[::-1]
        colours = np.stack([hue, 0.35 * hue]) + rng.normal(0, 25, (2, 3))
        pattern = np.where(tex[..., None], colours[0], colours[1])
        img[mask] = pattern[mask]
        label_map[mask] = label
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), label_map


def generate_seg_dataset(
    root: str,
    num_train: int = 400,
    num_val: int = 100,
    size: Tuple[int, int] = (64, 64),
    seed: int = 0,
) -> Dict[str, int]:
    """Write the dataset under ``root`` (created if needed; files of the
    same names are overwritten). The same arguments give the same files.
    Returns the number of images per split."""
    if osp.exists(root) and not osp.isdir(root):
        raise DatasetError(f'{root}: exists and is not a folder')
    counts = {'train': num_train, 'val': num_val}
    for split, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(
                f'generate_seg_dataset: num_{split}={n!r}; expected a '
                'positive int'
            )
    if len(size) != 2 or min(size) < 32:
        raise ValueError(
            f'generate_seg_dataset: size={size!r}; expected (H, W), '
            'both at least 32'
        )
    # One stream per split, so the val images do not depend on num_train.
    streams = np.random.SeedSequence(seed).spawn(len(SPLITS))
    for split, stream in zip(SPLITS, streams):
        rng = np.random.default_rng(stream)
        img_dir = osp.join(root, 'img_dir', split)
        ann_dir = osp.join(root, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(counts[split]):
            img, label_map = make_sample(rng, tuple(size))
            name = f'{i:05d}.png'
            for path, array in (
                (osp.join(img_dir, name), img),
                (osp.join(ann_dir, name), label_map),
            ):
                if not cv2.imwrite(path, array):
                    raise DatasetError(f'{path}: could not be written')
    return counts


def check_seg_dataset(
    root: str,
    splits: Sequence[str] = SPLITS,
    num_classes: int = len(CLASSES),
) -> Dict[str, int]:
    """Check a dataset in the layout above: every split has images, every
    image a readable label map of the same size with labels below
    ``num_classes``. Raises :class:`DatasetError` naming the first
    offending path; returns the number of images per split."""
    if not osp.isdir(root):
        raise DatasetError(f'{root}: dataset folder not found')
    counts = {}
    for split in splits:
        img_dir = osp.join(root, 'img_dir', split)
        ann_dir = osp.join(root, 'ann_dir', split)
        for folder in (img_dir, ann_dir):
            if not osp.isdir(folder):
                raise DatasetError(f'{folder}: folder not found')
        names = sorted(n for n in os.listdir(img_dir) if n.endswith('.png'))
        if not names:
            raise DatasetError(f'{img_dir}: no .png images')
        for name in names:
            img_path = osp.join(img_dir, name)
            ann_path = osp.join(ann_dir, name)
            img = cv2.imread(img_path, cv2.IMREAD_COLOR)
            if img is None:
                raise DatasetError(f'{img_path}: not a readable image')
            if not osp.isfile(ann_path):
                raise DatasetError(f'{ann_path}: label map not found')
            ann = cv2.imread(ann_path, cv2.IMREAD_UNCHANGED)
            if ann is None or ann.ndim != 2:
                raise DatasetError(
                    f'{ann_path}: not a readable single-channel label map'
                )
            if ann.shape != img.shape[:2]:
                raise DatasetError(
                    f'{ann_path}: size {ann.shape} differs from its image '
                    f'{img.shape[:2]}'
                )
            if int(ann.max()) >= num_classes:
                raise DatasetError(
                    f'{ann_path}: label {int(ann.max())} out of range '
                    f'(expected 0..{num_classes - 1})'
                )
        counts[split] = len(names)
    return counts
