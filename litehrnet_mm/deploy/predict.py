"""Pictures from an exported model, without the training stack.

The exporter stored what inference needs beside the model
(:mod:`litehrnet_mm.deploy.artifact`). A predictor needs only that
metadata, numpy, OpenCV and a runtime: it prepares images, runs the model
and draws the result. :class:`PosePredictor` takes the whole picture as the
person's box and draws the skeleton; :class:`SegPredictor` draws the mask
and a legend. :func:`make_predictor` picks the one the metadata's task
names.
"""

import math
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from litehrnet_mm.errors import DeployError
from litehrnet_mm.visualization.seg_panels import colour_labels

from .artifact import metadata_file
from .metadata import BOX_PADDING
from .runtimes import Runtime
from .runtimes.base import describe

__all__ = [
    'PosePredictor',
    'Predictor',
    'SegPredictor',
    'list_images',
    'load_inputs',
    'make_predictor',
    'read_image',
]


def _affine(
    center: np.ndarray, size: np.ndarray, out_wh: Tuple[int, int]
) -> np.ndarray:
    """The 2x3 map from the box (center, w h) onto an ``out_wh`` image."""
    scale_x = out_wh[0] / size[0]
    scale_y = out_wh[1] / size[1]
    return np.array(
        [
            [scale_x, 0.0, out_wh[0] / 2 - scale_x * center[0]],
            [0.0, scale_y, out_wh[1] / 2 - scale_y * center[1]],
        ],
        dtype=np.float64,
    )


class Predictor:
    """Runs an exported model on images and draws its predictions.

    Args:
        meta (dict): The artifact's metadata
            (:func:`~litehrnet_mm.deploy.artifact.read_metadata`).
        runtime (Runtime, optional): The compiled model; None for a
            predictor that only prepares inputs (:meth:`prepare`), e.g. for
            int8 calibration. Its input shape is then ``meta['input_shape']``.
    """

    task = ''
    #: The metadata entries the predictor reads.
    needs: Tuple[str, ...] = ('mean', 'std', 'bgr_to_rgb')
    #: The metadata entry whose length is the first output's channels.
    labels = ''

    def __init__(
        self, meta: Dict[str, object], runtime: Optional[Runtime] = None
    ) -> None:
        self.runtime = runtime
        self.meta = meta
        where = runtime.file if runtime else 'the artifact'
        missing = [k for k in self.needs if k not in meta]
        if runtime is None and 'input_shape' not in meta:
            missing.append('input_shape')
        if missing:
            raise DeployError(
                f'{where}: its metadata has no {", ".join(missing)}; '
                'expected what tools/deploy/export.py writes beside the '
                'artifact (from Python: litehrnet_mm.deploy.metadata.'
                "config_metadata(cfg), plus 'input_shape': [N, 3, H, W] "
                'without a runtime)'
            )
        shape = runtime.input_shape if runtime else meta['input_shape']
        exported = meta.get('input_shape')
        if runtime is not None and exported is not None:
            if list(shape)[1:] != list(exported)[1:]:
                raise DeployError(
                    f'{where}: its metadata is of a model that takes '
                    f'{_form(exported)}, but the runtime runs one that '
                    f'takes {_form(shape)}; expected the metadata '
                    'written with this artifact (read_metadata(file))'
                )
        batch, _, self.height, self.width = shape
        # A model exported with a free batch axis runs one image at a time.
        self.batch = batch if isinstance(batch, int) else 1
        self.mean = np.asarray(meta['mean'], np.float32)
        self.std = np.asarray(meta['std'], np.float32)

    def _normalise(self, image: np.ndarray) -> np.ndarray:
        if self.meta['bgr_to_rgb']:
            image = image[..., ::-1]
        image = (image.astype(np.float32) - self.mean) / self.std
        return image.transpose(2, 0, 1)

    def prepare(self, image: np.ndarray):
        """The network input (3, H, W) for one BGR image, and what maps
        the output back onto it."""
        raise NotImplementedError

    def decode(self, output: np.ndarray, context, hw: Tuple[int, int]):
        """One image's result from its output (the first one)."""
        raise NotImplementedError

    def draw(
        self, image: np.ndarray, result: dict, threshold: float = 0.3
    ) -> np.ndarray:
        """The picture with the result drawn."""
        raise NotImplementedError

    def __call__(self, images: Sequence[np.ndarray]) -> List[dict]:
        """Predictions for BGR images, uint8 as ``cv2.imread`` returns
        them (grey and BGRA ones are turned BGR; any number, run in batches
        of the model's batch size)."""
        if self.runtime is None:
            raise DeployError(
                f'{type(self).__name__}: made without a runtime, it only '
                'prepares inputs; expected make_predictor(meta, '
                'load_runtime(file)) to predict'
            )
        if isinstance(images, np.ndarray) or not hasattr(images, '__len__'):
            raise DeployError(
                f'{type(self).__name__}: takes a list of images; got a '
                f'{type(images).__name__} (one image: [image])'
            )
        images = [_bgr(image, i) for i, image in enumerate(images)]
        expected = len(self.meta[self.labels])  # the outputs' channels
        results = []
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            prepared = [self.prepare(im) for im in chunk]
            batch = np.zeros(
                (self.batch, 3, self.height, self.width), np.float32
            )
            for i, (x, _) in enumerate(prepared):
                batch[i] = x
            output = self.runtime(batch)[0]
            if output.shape[1] != expected:
                raise DeployError(
                    f'{self.runtime.file}: the model returns '
                    f'{output.shape[1]} channels, its metadata names '
                    f'{expected} {self.labels}; expected the metadata '
                    'written with this artifact (read_metadata(file))'
                )
            for i, (image, (_, context)) in enumerate(zip(chunk, prepared)):
                results.append(
                    self.decode(output[i], context, image.shape[:2])
                )
        return results


class PosePredictor(Predictor):
    """Top-down pose with the whole picture as the person's box: results
    are ``keypoints`` (K, 2) and ``scores`` (K,) in image pixels.

    The box is padded as mmpose's test pipeline pads it
    (``meta['box_padding']``, GetBBoxCenterScale's 1.25 unless the config
    says otherwise) and widened or heightened to the input's aspect
    ratio, as mmpose's inferencer treats a picture without a detector.
    Decoding takes each heatmap's peak with a quarter-pixel shift towards
    the higher neighbour; mmpose's DARK refinement (``unbiased`` codecs)
    and flip test are not applied (on the pose demo's model its keypoints
    land within about 0.7 px of mmpose's with flip test off)."""

    task = 'pose'
    needs = Predictor.needs + ('keypoints', 'skeleton')
    labels = 'keypoints'

    def prepare(self, image: np.ndarray):
        # The picture, padded and widened or heightened to the input's
        # aspect ratio (mmpose's GetBBoxCenterScale and top-down affine).
        h, w = image.shape[:2]
        aspect = self.width / self.height
        padding = float(self.meta.get('box_padding', BOX_PADDING))
        box = np.array([w, h], np.float64) * padding
        if box[0] / box[1] > aspect:
            box[1] = box[0] / aspect
        else:
            box[0] = box[1] * aspect
        center = np.array([w / 2, h / 2], np.float64)
        matrix = _affine(center, box, (self.width, self.height))
        crop = cv2.warpAffine(
            image, matrix, (self.width, self.height), flags=cv2.INTER_LINEAR
        )
        return self._normalise(crop), (center, box)

    def decode(self, heatmaps: np.ndarray, box, hw) -> dict:
        """Argmax of each heatmap, a quarter pixel towards the higher
        neighbour (the classic refinement), mapped back to the picture.

        The refinement moves a peak where mmpose's ``refine_keypoints``
        (MSRAHeatmap) does: along x for columns 2 to W - 2 off the first
        row, along y for rows 2 to H - 2 off the first column. A heatmap
        with no positive value puts its keypoint at heatmap pixel (-1, -1)
        with its score, as mmpose's ``get_heatmap_maximum`` does (any
        threshold leaves it out)."""
        center, size = box
        k, hh, ww = heatmaps.shape  # heatmap size
        flat = heatmaps.reshape(k, -1)
        idx = flat.argmax(1)
        scores = flat.max(1)
        ys, xs = (v.astype(np.float64) for v in np.divmod(idx, ww))
        xs[scores <= 0] = ys[scores <= 0] = -1
        for j in range(k):
            x, y = int(xs[j]), int(ys[j])
            if 1 < x < ww - 1 and y > 0:
                xs[j] += 0.25 * np.sign(
                    heatmaps[j, y, x + 1] - heatmaps[j, y, x - 1]
                )
            if 1 < y < hh - 1 and x > 0:
                ys[j] += 0.25 * np.sign(
                    heatmaps[j, y + 1, x] - heatmaps[j, y - 1, x]
                )
        # Heatmap pixel -> input pixel -> picture pixel.
        px = xs * self.width / ww
        py = ys * self.height / hh
        keypoints = np.stack(
            [
                center[0] + (px - self.width / 2) * size[0] / self.width,
                center[1] + (py - self.height / 2) * size[1] / self.height,
            ],
            axis=1,
        )
        return dict(keypoints=keypoints, scores=scores)

    def draw(
        self, image: np.ndarray, result: dict, threshold: float = 0.3
    ) -> np.ndarray:
        """The picture with the skeleton of the keypoints scoring at least
        ``threshold``."""
        canvas = image.copy()
        thickness = max(1, round(math.hypot(*image.shape[:2]) / 300))
        kpts, scores = result['keypoints'], result['scores']
        colors = self.meta['link_colors']
        for (a, b), color in zip(self.meta['skeleton'], colors):
            if scores[a] >= threshold and scores[b] >= threshold:
                cv2.line(
                    canvas,
                    tuple(int(v) for v in kpts[a]),
                    tuple(int(v) for v in kpts[b]),
                    tuple(int(c) for c in color[::-1]),
                    thickness,
                    cv2.LINE_AA,
                )
        for point, score, color in zip(
            kpts, scores, self.meta['keypoint_colors']
        ):
            if score >= threshold:
                cv2.circle(
                    canvas,
                    tuple(int(v) for v in point),
                    thickness + 2,
                    tuple(int(c) for c in color[::-1]),
                    -1,
                    cv2.LINE_AA,
                )
        return canvas


class SegPredictor(Predictor):
    """Semantic segmentation of the whole picture: results are ``mask``
    (H, W) class ids at the picture's size."""

    task = 'seg'
    needs = Predictor.needs + ('classes', 'palette')
    labels = 'classes'

    def prepare(self, image: np.ndarray):
        resized = cv2.resize(
            image, (self.width, self.height), interpolation=cv2.INTER_LINEAR
        )
        return self._normalise(resized), None

    def decode(self, logits: np.ndarray, context, hw) -> dict:
        # As mmseg does: the logits (at 1/4 of the input) resized to the
        # input (bilinear, the head's predict), then to the picture's size
        # (bilinear, postprocess_result), and the class taken there.
        for size in ((self.width, self.height), (hw[1], hw[0])):
            logits = np.stack(
                [
                    cv2.resize(c, size, interpolation=cv2.INTER_LINEAR)
                    for c in logits
                ]
            )
        return dict(mask=logits.argmax(0).astype(np.uint8))

    def draw(
        self, image: np.ndarray, result: dict, threshold: float = 0.3
    ) -> np.ndarray:
        """The picture with the mask blended over it and a legend of the
        classes it holds (``threshold`` is unused): over the picture's
        top left corner where it fits in a third of its width and half
        its height, else in a strip to its right, so that a small picture
        keeps its mask in view and the names stay readable."""
        mask = result['mask']
        palette = self.meta['palette']
        canvas = cv2.addWeighted(
            image, 0.5, colour_labels(mask, palette), 0.5, 0
        )
        present = [int(c) for c in np.unique(mask) if c < len(palette)]
        names = [str(self.meta['classes'][c]) for c in present]
        scale = max(0.4, canvas.shape[0] / 1000)
        row = int(26 * scale) + 4
        font = (cv2.FONT_HERSHEY_SIMPLEX, scale * 0.6, max(1, round(scale)))
        text = max((cv2.getTextSize(n, *font)[0][0] for n in names), default=0)
        width, height = 16 + row + text, 8 + row * len(present)
        h, w = canvas.shape[:2]
        x0 = 8
        if width > w / 3 or height > h / 2:
            x0 = w + 8
            strip = np.zeros((max(h, height), w + width, 3), canvas.dtype)
            strip[:h, :w] = canvas
            canvas = strip
        for i, (c, name) in enumerate(zip(present, names)):
            y = 8 + i * row
            cv2.rectangle(
                canvas,
                (x0, y),
                (x0 + row - 4, y + row - 4),
                tuple(int(v) for v in palette[c][::-1]),
                -1,
            )
            # An outline, for a class coloured like the strip (black).
            cv2.rectangle(
                canvas,
                (x0, y),
                (x0 + row - 4, y + row - 4),
                (128, 128, 128),
                1,
            )
            cv2.putText(
                canvas,
                name,
                (x0 + 4 + row, y + row - 8),
                *font[:2],
                (255, 255, 255),
                font[2],
                cv2.LINE_AA,
            )
        return canvas


_PREDICTORS = {p.task: p for p in (PosePredictor, SegPredictor)}


def _form(shape) -> str:
    """``1x3x128x96`` for an input shape."""
    return 'x'.join(str(d) for d in shape)


def _bgr(image, index: int) -> np.ndarray:
    """A uint8 (H, W, 3) BGR image: grey and BGRA ones converted, any
    other one error naming the image and the form expected."""
    expected = (
        'a uint8 BGR image of shape (H, W, 3) as cv2.imread returns it '
        '(grey (H, W) and BGRA (H, W, 4) are converted; read_image(file) '
        'reads 16-bit files too)'
    )
    hint = ' (cv2.imread returns None for a file it cannot read)'
    if not isinstance(image, np.ndarray):
        raise DeployError(
            f'image {index}: {describe(image)}'
            f'{hint if image is None else ""}; expected {expected}'
        )
    channels = image.shape[2] if image.ndim == 3 else 1
    if (
        image.dtype != np.uint8
        or image.ndim not in (2, 3)
        or channels not in (1, 3, 4)
        or image.size == 0
    ):
        raise DeployError(
            f'image {index}: {describe(image)}; expected {expected}'
        )
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def make_predictor(
    meta: Dict[str, object], runtime: Optional[Runtime] = None
) -> Predictor:
    """The predictor for the task the metadata names."""
    task = meta.get('task')
    if task not in _PREDICTORS:
        where = runtime.file if runtime else 'make_predictor'
        beside = f' ({metadata_file(where)})' if runtime else ''
        if task is not None:
            what = f'its metadata{beside} names task {task!r}'
        elif runtime:
            what = f'no metadata{beside}, or one without a task'
        else:
            what = 'the metadata names no task'
        raise DeployError(
            f'{where}: {what}; expected pose or seg, as '
            'tools/deploy/export.py CONFIG CHECKPOINT writes beside the '
            'artifact'
        )
    return _PREDICTORS[task](meta, runtime)


def load_inputs(
    folder: str, meta: Dict[str, object], count: int
) -> List[np.ndarray]:
    """Up to ``count`` images of ``folder`` as the exported model sees
    them, each (1, 3, H, W) float32 (e.g. int8 calibration data); a file
    OpenCV cannot read is skipped with a warning."""
    predictor = make_predictor(meta)
    inputs = []
    for file in list_images(folder):
        if len(inputs) == count:
            break
        try:
            image = read_image(file)
        except DeployError as e:
            # As infer.py does: one unreadable file does not stop the rest.
            warnings.warn(f'skipped {e}', stacklevel=2)
            continue
        inputs.append(predictor.prepare(image)[0][None])
    return inputs


def list_images(path: str) -> List[str]:
    """``path`` itself, or the images in the folder ``path`` (sorted)."""
    suffixes = ('.jpg', '.jpeg', '.png', '.bmp')
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f'{path}: not found; expected an image file or a folder of '
            f'images ({", ".join(suffixes)})'
        )
    files = sorted(
        os.path.join(path, f)
        for f in os.listdir(path)
        if f.lower().endswith(suffixes)
    )
    if not files:
        raise FileNotFoundError(
            f'{path}: a folder without images; expected files ending in '
            f'{", ".join(suffixes)}'
        )
    return files


def read_image(file: str) -> np.ndarray:
    image = cv2.imread(file, cv2.IMREAD_COLOR)
    if image is None:
        raise DeployError(
            f'{file}: not an image OpenCV can read; expected a JPEG, PNG '
            'or BMP file'
        )
    return image
