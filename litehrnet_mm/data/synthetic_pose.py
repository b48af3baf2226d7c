"""A synthetic person-keypoint dataset in COCO format.

Each image holds several articulated figures with the 17 COCO keypoints
(nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles), drawn
as a filled body (head, torso, thick limbs, hands and feet) over a
cluttered background, among distractor strokes that look like limbs. The
figures vary in scale, aspect, lean and limb angles; they face the camera
(their left side on the image's right, as in COCO), so a horizontal flip
with the left/right labels swapped is again a valid figure.

Labels follow COCO: ``v=2`` visible, ``v=1`` labelled but hidden (under a
figure drawn later or under an occluder), ``v=0`` not labelled (outside the
image; then x = y = 0). ``bbox`` is the extent of the figure's pixels
inside the image and ``area`` their count, as COCO's are of its masks.

Example:
    >>> from litehrnet_mm.data.synthetic_pose import generate_pose_dataset
    >>> files = generate_pose_dataset('data/synthetic_pose', num_train=8,
    ...                               num_val=4)
    >>> sorted(files)
    ['train', 'val']
"""

import json
import math
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from litehrnet_mm.datasets.coco_keypoints import KEYPOINT_NAMES, NUM_KEYPOINTS

__all__ = [
    'KEYPOINT_NAMES',
    'SKELETON',
    'generate_pose_dataset',
    'render_pose_image',
]

# COCO's skeleton, 1-based as in its category record.
SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
    [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3],
    [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip

_K = {name: i for i, name in enumerate(KEYPOINT_NAMES)}


def _rand_color(rng: np.random.Generator, lo: int = 0, hi: int = 256):
    return tuple(int(c) for c in rng.integers(lo, hi, size=3))


def _figure_keypoints(
    rng: np.random.Generator, height: float
) -> Tuple[np.ndarray, Dict[str, float]]:
    """Keypoints of one figure in its own frame: origin at the pelvis,
    x to the image's right (the figure's left), y down, in pixels."""
    h = height
    width = rng.uniform(0.8, 1.25)  # body build, relative
    torso = h * rng.uniform(0.27, 0.33)
    shoulder = h * 0.12 * width
    hip = h * 0.09 * width
    head_r = h * rng.uniform(0.06, 0.075)
    upper_arm, forearm = h * 0.16, h * 0.15
    thigh, shin = h * 0.22, h * 0.22
    lean = math.radians(rng.uniform(-20, 20))

    def at(origin, angle, length):
        # angle 0 points down, positive angles turn towards +x.
        return origin + length * np.array([math.sin(angle), math.cos(angle)])

    up = np.array([math.sin(lean), -math.cos(lean)])
    side = np.array([math.cos(lean), math.sin(lean)])
    pelvis = np.zeros(2)
    neck = pelvis + torso * up
    kpts = np.zeros((NUM_KEYPOINTS, 2))
    kpts[_K['left_shoulder']] = neck + shoulder * side
    kpts[_K['right_shoulder']] = neck - shoulder * side
    kpts[_K['left_hip']] = pelvis + hip * side
    kpts[_K['right_hip']] = pelvis - hip * side
    head = neck + (0.05 * h + head_r) * up
    turn = rng.uniform(-0.35, 0.35)  # head turned a little left or right
    face = head + turn * head_r * side
    kpts[_K['nose']] = face - 0.1 * head_r * up
    kpts[_K['left_eye']] = face + 0.4 * head_r * side + 0.3 * head_r * up
    kpts[_K['right_eye']] = face - 0.4 * head_r * side + 0.3 * head_r * up
    kpts[_K['left_ear']] = head + 0.95 * head_r * side
    kpts[_K['right_ear']] = head - 0.95 * head_r * side
    for sign, prefix in ((1, 'left'), (-1, 'right')):
        # Arms from hanging down to raised above the head, elbows bent
        # either way but no arm folded across the body (which would make
        # the left and right wrists a guess); legs from straight to a high
        # kick, knees bent back.
        a1 = lean + sign * math.radians(rng.uniform(-10, 160))
        a2 = a1 + math.radians(rng.uniform(-90, 90))
        s = kpts[_K[f'{prefix}_shoulder']]
        e = at(s, a1, upper_arm)
        kpts[_K[f'{prefix}_elbow']] = e
        kpts[_K[f'{prefix}_wrist']] = at(e, a2, forearm)
        l1 = lean + sign * math.radians(rng.uniform(-15, 70))
        l2 = l1 - sign * math.radians(rng.uniform(0, 100))
        p = kpts[_K[f'{prefix}_hip']]
        k = at(p, l1, thigh)
        kpts[_K[f'{prefix}_knee']] = k
        kpts[_K[f'{prefix}_ankle']] = at(k, l2, shin)
    shape = dict(head=head, head_r=head_r, neck=neck, up=up, side=side)
    return kpts, shape


def _draw_figure(
    canvas: np.ndarray,
    mask: np.ndarray,
    kpts: np.ndarray,
    shape: dict,
    h: float,
    rng: np.random.Generator,
) -> None:
    """Draw a figure on ``canvas`` and its pixels on ``mask`` (both in
    place), all coordinates in image pixels."""
    skin = _rand_color(rng, 60, 256)
    shirt = _rand_color(rng)
    trousers = _rand_color(rng)
    limb = max(2, int(round(h * rng.uniform(0.065, 0.085))))

    def pt(p):
        return (int(round(p[0] * 16)), int(round(p[1] * 16)))

    def line(a, b, color, width):
        for img, c in ((canvas, color), (mask, 1)):
            cv2.line(img, pt(a), pt(b), c, width, cv2.LINE_AA, shift=4)

    def disc(c, r, color):
        for img, col in ((canvas, color), (mask, 1)):
            cv2.circle(img, pt(c), int(round(r * 16)), col, -1, cv2.LINE_AA,
                       shift=4)  # fmt: skip

    def poly(points, color):
        p = np.array([pt(q) for q in points], dtype=np.int32)
        for img, c in ((canvas, color), (mask, 1)):
            cv2.fillPoly(img, [p], c, cv2.LINE_AA, shift=4)

    k = {name: kpts[i] for name, i in _K.items()}
    # Legs, then torso, arms and head over them.
    for side in ('left', 'right'):
        line(k[f'{side}_hip'], k[f'{side}_knee'], trousers, int(1.4 * limb))
        line(k[f'{side}_knee'], k[f'{side}_ankle'], trousers, int(1.2 * limb))
        foot = k[f'{side}_ankle'] + np.array(
            [0.06 * h if side == 'left' else -0.06 * h, 0.01 * h]
        )
        line(k[f'{side}_ankle'], foot, (30, 30, 30), limb)
    poly(
        [
            k['left_shoulder'],
            k['right_shoulder'],
            k['right_hip'],
            k['left_hip'],
        ],
        shirt,
    )
    for side in ('left', 'right'):
        line(k[f'{side}_shoulder'], k[f'{side}_elbow'], shirt, limb)
        line(k[f'{side}_elbow'], k[f'{side}_wrist'], skin, limb - 1)
        disc(k[f'{side}_wrist'], 0.6 * limb, skin)
    line(shape['neck'], shape['head'], skin, limb)
    for ear in ('left_ear', 'right_ear'):
        disc(k[ear], 0.25 * shape['head_r'], skin)
    disc(shape['head'], shape['head_r'], skin)
    eye = max(1.0, 0.14 * shape['head_r'])
    for name in ('left_eye', 'right_eye'):
        disc(k[name], eye, (20, 20, 20))
    disc(k['nose'], 0.7 * eye, (40, 40, 160))


def _background(
    rng: np.random.Generator, width: int, height: int
) -> np.ndarray:
    """Gradient, noise, blobs and limb-like strokes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    c0 = np.array(_rand_color(rng), np.float32)
    c1 = np.array(_rand_color(rng), np.float32)
    t = (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1)) / (width + height)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    img = c0 + t[..., None] * (c1 - c0)
    img += rng.normal(0, rng.uniform(5, 20), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(4, 10)):
        c = tuple(int(v) for v in rng.integers(0, (width, height)))
        if rng.random() < 0.5:
            axes = tuple(int(v) for v in rng.integers(4, width // 5, size=2))
            cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360,
                        _rand_color(rng), -1)  # fmt: skip
        else:
            d = rng.integers(4, width // 4, size=2)
            cv2.rectangle(img, c, (c[0] + int(d[0]), c[1] + int(d[1])),
                          _rand_color(rng), -1)  # fmt: skip
    _strokes(img, rng, int(rng.integers(3, 8)))
    return img


def _strokes(img: np.ndarray, rng: np.random.Generator, n: int) -> None:
    """Distractors: bent two-segment strokes of limb thickness, some ending
    in a blob like a hand."""
    height, width = img.shape[:2]
    for _ in range(n):
        p = rng.uniform((0, 0), (width, height))
        length = rng.uniform(0.05, 0.2) * height
        a = rng.uniform(0, 2 * math.pi)
        q = p + length * np.array([math.cos(a), math.sin(a)])
        a += rng.uniform(-2, 2)
        r = q + length * np.array([math.cos(a), math.sin(a)])
        color = _rand_color(rng)
        thick = int(rng.integers(2, 7))
        pts = [tuple(int(v) for v in z) for z in (p, q, r)]
        cv2.line(img, pts[0], pts[1], color, thick, cv2.LINE_AA)
        cv2.line(img, pts[1], pts[2], color, thick, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.circle(img, pts[2], thick, _rand_color(rng), -1)


def _occluder(rng: np.random.Generator, width: int, height: int):
    """A random rectangle or ellipse, as (draw function, mask)."""
    mask = np.zeros((height, width), np.uint8)
    c = tuple(int(v) for v in rng.integers(0, (width, height)))
    color = _rand_color(rng)
    if rng.random() < 0.5:
        axes = tuple(int(v) for v in rng.integers(6, width // 6, size=2))
        angle = float(rng.uniform(0, 180))

        def draw(img, col):
            cv2.ellipse(img, c, axes, angle, 0, 360, col, -1)
    else:
        d = tuple(int(v) for v in rng.integers(8, width // 5, size=2))

        def draw(img, col):
            cv2.rectangle(img, c, (c[0] + d[0], c[1] + d[1]), col, -1)

    draw(mask, 1)
    return (lambda img: draw(img, color)), mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    return float(inter / union)


def render_pose_image(
    rng: np.random.Generator,
    width: int = 192,
    height: int = 192,
    num_figures: Tuple[int, int] = (2, 4),
    figure_height: Tuple[float, float] = (0.35, 0.8),
    occluder_prob: float = 0.5,
    max_overlap: float = 0.3,
    max_tries: int = 10,
) -> Tuple[np.ndarray, List[dict]]:
    """Render one image; return it (BGR, uint8) and its figures as dicts
    with ``keypoints`` (17x3, COCO visibility), ``bbox`` (x, y, w, h) and
    ``area``. Figure heights are fractions of the image height; a figure
    is placed where its box overlaps each earlier one by at most
    ``max_overlap`` (IoU), if one of ``max_tries`` draws finds such a
    place."""
    img = _background(rng, width, height)
    n = int(rng.integers(num_figures[0], num_figures[1] + 1))
    masks, keypoints, boxes = [], [], []
    for _ in range(n):
        h = rng.uniform(*figure_height) * height
        kpts, shape = _figure_keypoints(rng, h)
        # Place the figure so that some of its joints may leave the image.
        # Figures overlap and hide each other, but no figure sits mostly
        # on another one: a crop's target stays identifiable.
        lo = kpts.min(0)
        hi = kpts.max(0)
        margin = 0.15 * (hi - lo)
        for _ in range(max_tries):
            offset = rng.uniform(
                -lo - margin, np.array([width, height]) - hi + margin
            )
            box = np.concatenate([lo + offset, hi + offset])
            if all(_iou(box, other) <= max_overlap for other in boxes):
                break
        boxes.append(box)
        kpts = kpts + offset
        shape = {
            key: (val + offset if key in ('head', 'neck') else val)
            for key, val in shape.items()
        }
        mask = np.zeros((height, width), np.uint8)
        _draw_figure(img, mask, kpts, shape, h, rng)
        masks.append(mask)
        keypoints.append(kpts)
    occluders = []
    if rng.random() < occluder_prob:
        draw, mask = _occluder(rng, width, height)
        draw(img)
        occluders.append(mask)
    # Thin strokes over everything, too thin to hide a joint.
    _strokes(img, rng, int(rng.integers(0, 3)))

    figures = []
    for i, (kpts, mask) in enumerate(zip(keypoints, masks)):
        covers = masks[i + 1 :] + occluders
        kp = np.zeros((NUM_KEYPOINTS, 3), np.float32)
        for j, (x, y) in enumerate(kpts):
            xi, yi = int(math.floor(x)), int(math.floor(y))
            if not (0 <= xi < width and 0 <= yi < height):
                continue  # v = 0, x = y = 0
            hidden = any(m[yi, xi] for m in covers)
            kp[j] = (x, y, 1 if hidden else 2)
        ys, xs = np.nonzero(mask)
        if np.count_nonzero(kp[:, 2]) < 4 or xs.size == 0:
            continue  # barely in the image: left unannotated, as in COCO
        x0, y0 = float(xs.min()), float(ys.min())
        w, hh = float(xs.max()) + 1 - x0, float(ys.max()) + 1 - y0
        figures.append(
            dict(keypoints=kp, bbox=[x0, y0, w, hh], area=float(xs.size))
        )
    return img, figures


def _coco_dict(
    images: List[dict], annotations: List[dict]
) -> Dict[str, object]:
    return dict(
        info=dict(description='litehrnet_mm synthetic pose dataset'),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(
                id=1,
                name='person',
                supercategory='person',
                keypoints=list(KEYPOINT_NAMES),
                skeleton=SKELETON,
            )
        ],
    )


def generate_pose_dataset(
    out_dir: str,
    num_train: int = 400,
    num_val: int = 100,
    image_size: Tuple[int, int] = (192, 192),
    seed: int = 0,
    **render_kwargs,
) -> Dict[str, str]:
    """Write a train and a held-out val split under ``out_dir``:
    ``images/{train,val}/*.png`` and ``annotations/{train,val}.json``
    (COCO person keypoints). The splits are drawn from independent random
    streams, so no val image is a train image.

    Args:
        out_dir (str): Output folder (created; existing files of the same
            names are overwritten).
        num_train (int): Images in the train split. Defaults to 400.
        num_val (int): Images in the val split. Defaults to 100.
        image_size (tuple[int, int]): (width, height). Defaults to 192x192.
        seed (int): Seed; the same seed gives the same dataset.
        **render_kwargs: Passed to :func:`render_pose_image`.

    Returns:
        dict: The annotation file of each split, by split name.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError(
            f'generate_pose_dataset: num_train={num_train}, '
            f'num_val={num_val}; both must be at least 1'
        )
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise NotADirectoryError(f'output folder is a file: {out_dir}')
    width, height = image_size
    files = {}
    ann_id = 1
    for split, count, stream in (('train', num_train, 0), ('val', num_val, 1)):
        rng = np.random.default_rng([seed, stream])
        img_dir = osp.join(out_dir, 'images', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            img, figures = render_pose_image(
                rng, width, height, **render_kwargs
            )
            image_id = i + 1
            name = f'{split}_{image_id:06d}.png'
            cv2.imwrite(osp.join(img_dir, name), img)
            images.append(
                dict(id=image_id, file_name=name, width=width, height=height)
            )
            for fig in figures:
                kp = fig['keypoints']
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=image_id,
                        category_id=1,
                        bbox=[round(v, 2) for v in fig['bbox']],
                        area=fig['area'],
                        iscrowd=0,
                        num_keypoints=int(np.count_nonzero(kp[:, 2])),
                        keypoints=[round(float(v), 2) for v in kp.ravel()],
                    )
                )
                ann_id += 1
        ann_file = osp.join(out_dir, 'annotations', f'{split}.json')
        with open(ann_file, 'w') as f:
            json.dump(_coco_dict(images, annotations), f)
        files[split] = ann_file
    return files
