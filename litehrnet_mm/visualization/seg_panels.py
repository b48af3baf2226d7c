"""Image, ground truth and prediction side by side, with a legend.

The demo's images are 64x64: a mask blended over one, with the class names
written on it (what mmseg's visualizer draws), is too small to read and
the names hide the objects. :func:`draw_seg_panels` scales each panel up
with nearest-neighbour (the label pixels stay sharp), titles the panels and
names the colours in a legend below them.
"""

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TEXT = (0, 0, 0)
_BACK = (255, 255, 255)
#: Labels outside the classes (mmseg's ignore index 255).
_IGNORED = (128, 128, 128)


def _text(canvas: np.ndarray, text: str, x: int, y: int, size: float):
    cv2.putText(
        canvas, text, (x, y), _FONT, size, _TEXT, 1, lineType=cv2.LINE_AA
    )


def colour_labels(
    labels: np.ndarray, palette: Sequence[Sequence[int]]
) -> np.ndarray:
    """A BGR picture of a label map, ``palette`` in RGB (mmseg's order)."""
    lut = np.tile(np.array(_IGNORED[::-1], np.uint8), (256, 1))
    lut[: len(palette)] = np.array(palette, np.uint8)[:, ::-1]
    return lut[labels.astype(np.uint8)]


def draw_seg_panels(
    image: np.ndarray,
    labels: np.ndarray,
    prediction: np.ndarray,
    classes: Sequence[str],
    palette: Sequence[Sequence[int]],
    scale: Optional[int] = None,
    min_side: int = 256,
) -> np.ndarray:
    """The image, its ground truth and the prediction side by side.

    Args:
        image: The image, BGR uint8 (H, W, 3).
        labels: Ground-truth labels (H, W); 255 (ignored) is drawn grey.
        prediction: Predicted labels (H, W).
        classes: Class names, by label.
        palette: One RGB colour per class, as mmseg's ``dataset_meta``.
        scale: Nearest-neighbour upscaling of each panel; None picks the
            smallest integer that makes the shorter side ``min_side``.
        min_side: The shorter side of a panel when ``scale`` is None.

    Returns:
        np.ndarray: The picture, BGR uint8, ready for ``cv2.imwrite``.
    """
    h, w = image.shape[:2]
    if labels.shape != (h, w) or prediction.shape != (h, w):
        raise ValueError(
            f'draw_seg_panels: image {h}x{w}, labels '
            f'{"x".join(map(str, labels.shape))}, prediction '
            f'{"x".join(map(str, prediction.shape))}; expected the same '
            'height and width'
        )
    if scale is None:
        scale = max(1, -(-min_side // min(h, w)))
    valid = labels != 255
    accuracy = (labels == prediction)[valid].mean() if valid.any() else 0.0
    panels = [
        ('image', image),
        ('ground truth', colour_labels(labels, palette)),
        (
            f'prediction ({100 * accuracy:.0f}% right)',
            colour_labels(prediction, palette),
        ),
    ]
    ph, pw, gap, title = h * scale, w * scale, 12, 30
    size = 0.6
    legend_rows, legend = _legend_layout(classes, 3 * pw + 4 * gap, size)
    canvas = np.full(
        (title + ph + gap + 28 * legend_rows + gap, 3 * pw + 4 * gap, 3),
        _BACK,
        np.uint8,
    )
    for i, (name, picture) in enumerate(panels):
        x = gap + i * (pw + gap)
        _text(canvas, name, x, title - 9, size)
        canvas[title : title + ph, x : x + pw] = cv2.resize(
            picture, (pw, ph), interpolation=cv2.INTER_NEAREST
        )
    top = title + ph + gap
    for label, (row, x) in enumerate(legend):
        y = top + 28 * row
        colour = tuple(int(c) for c in palette[label][::-1])
        cv2.rectangle(canvas, (x, y + 4), (x + 18, y + 22), colour, -1)
        cv2.rectangle(canvas, (x, y + 4), (x + 18, y + 22), _TEXT, 1)
        _text(canvas, f'{label} {classes[label]}', x + 26, y + 19, size)
    return canvas


def _legend_layout(
    classes: Sequence[str], width: int, size: float
) -> Tuple[int, list]:
    """(rows, [(row, x) per class]): swatch and name, left to right,
    wrapped at ``width``."""
    places, row, x = [], 0, 12
    for label, name in enumerate(classes):
        (text_w, _), _ = cv2.getTextSize(f'{label} {name}', _FONT, size, 1)
        item = 26 + text_w + 24
        if x + item > width and x > 12:
            row, x = row + 1, 12
        places.append((row, x))
        x += item
    return row + 1, places
