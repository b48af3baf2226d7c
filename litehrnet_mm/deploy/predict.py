"""Pictures from an exported model, without the training stack.

:func:`deploy_metadata` reads what inference needs from an mmpose or mmseg
config (the task, the input normalisation, the keypoints and skeleton or
the classes and palette) and :func:`~litehrnet_mm.deploy.onnx.export_onnx`
stores it in the ``.onnx`` file. :class:`Predictor` then needs only numpy,
OpenCV and a runtime: it prepares images, runs the model and draws the
skeleton (pose: the whole picture is the person's box) or the mask.
"""

import math
import os
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .runtimes import Runtime

__all__ = ['Predictor', 'deploy_metadata', 'list_images', 'read_image']


def deploy_metadata(cfg) -> Dict[str, object]:
    """What inference needs, read from an mmengine ``Config`` of our pose
    or seg models (dataset meta from the dataset class or its
    ``metainfo``)."""
    from mmengine.registry import init_default_scope

    from litehrnet_mm.analysis.models import scope_of

    pre = cfg.model.get('data_preprocessor', {})
    meta: Dict[str, object] = dict(
        mean=[float(v) for v in pre.get('mean', [0.0, 0.0, 0.0])],
        std=[float(v) for v in pre.get('std', [1.0, 1.0, 1.0])],
        bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)),
    )
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {})
    scope = scope_of(cfg)
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import DATASETS

        info = {}
        if 'type' in dataset:
            info.update(DATASETS.get(dataset['type']).METAINFO)
        info.update(dataset.get('metainfo') or {})
        if 'classes' not in info:
            # A config without a dataset: classes by number.
            num = int(cfg.model.decode_head.num_classes)
            info['classes'] = [str(i) for i in range(num)]
        if 'palette' not in info:
            rng = np.random.default_rng(0)
            info['palette'] = rng.integers(0, 255, (len(info['classes']), 3))
        meta.update(
            task='seg',
            classes=list(info['classes']),
            palette=[[int(c) for c in p] for p in info['palette']],
        )
        return meta
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS

    info = dataset.get('metainfo')
    if info is None and 'type' in dataset:
        info = DATASETS.get(dataset['type']).METAINFO
    if info is None:
        # A config without a dataset: keypoints by number, no skeleton.
        num = int(cfg.model.head.out_channels)
        meta.update(
            task='pose',
            keypoints=[str(i) for i in range(num)],
            skeleton=[],
            keypoint_colors=[[255, 128, 0]] * num,
            link_colors=[],
        )
        return meta
    info = parse_pose_metainfo(dict(info))
    names = info['keypoint_id2name']
    meta.update(
        task='pose',
        keypoints=[names[i] for i in range(info['num_keypoints'])],
        skeleton=[[int(a), int(b)] for a, b in info['skeleton_links']],
        keypoint_colors=np.asarray(info['keypoint_colors']).tolist(),
        link_colors=np.asarray(info['skeleton_link_colors']).tolist(),
    )
    return meta


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
        runtime (Runtime): The compiled model (its metadata read from the
            file by :func:`~litehrnet_mm.deploy.onnx.read_metadata`).
        meta (dict): That metadata.
    """

    def __init__(self, runtime: Runtime, meta: Dict[str, object]) -> None:
        if meta.get('task') not in ('pose', 'seg'):
            raise ValueError(
                f'{runtime.file} carries no litehrnet_mm metadata (task '
                f'{meta.get("task")!r}); export it from a config with '
                'tools/deploy/export_onnx.py CONFIG CHECKPOINT'
            )
        self.runtime = runtime
        self.meta = meta
        batch, _, self.height, self.width = runtime.input_shape
        # A model exported with a free batch axis runs one image at a time.
        self.batch = batch if isinstance(batch, int) else 1
        self.mean = np.asarray(meta['mean'], np.float32)
        self.std = np.asarray(meta['std'], np.float32)

    def _normalise(self, image: np.ndarray) -> np.ndarray:
        if self.meta['bgr_to_rgb']:
            image = image[..., ::-1]
        image = (image.astype(np.float32) - self.mean) / self.std
        return image.transpose(2, 0, 1)

    def _prepare(self, image: np.ndarray):
        """The network input for one BGR image, and what maps back."""
        h, w = image.shape[:2]
        if self.meta['task'] == 'seg':
            resized = cv2.resize(
                image,
                (self.width, self.height),
                interpolation=cv2.INTER_LINEAR,
            )
            return self._normalise(resized), None
        # Pose: the whole picture is the person's box, widened or heightened
        # to the input's aspect ratio (mmpose's top-down affine).
        aspect = self.width / self.height
        box = np.array([w, h], np.float64)
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

    def __call__(self, images: Sequence[np.ndarray]) -> List[dict]:
        """Predictions for BGR images (any number; run in batches of the
        model's batch size): ``keypoints`` (K, 2) and ``scores`` (K,) in
        image pixels for pose, ``mask`` (H, W) class ids for seg."""
        results = []
        for start in range(0, len(images), self.batch):
            chunk = list(images[start : start + self.batch])
            prepared = [self._prepare(im) for im in chunk]
            batch = np.zeros(
                (self.batch, 3, self.height, self.width), np.float32
            )
            for i, (x, _) in enumerate(prepared):
                batch[i] = x
            output = self.runtime(batch)[0]
            for i, (image, (_, box)) in enumerate(zip(chunk, prepared)):
                results.append(
                    self._decode_seg(output[i], image.shape[:2])
                    if box is None
                    else self._decode_pose(output[i], box)
                )
        return results

    def _decode_seg(self, logits: np.ndarray, hw: Tuple[int, int]) -> dict:
        # Logits are at 1/4 of the input: upsample them, as mmseg does,
        # before taking the class, then back to the picture's size.
        up = np.stack(
            [
                cv2.resize(
                    c,
                    (self.width, self.height),
                    interpolation=cv2.INTER_LINEAR,
                )
                for c in logits
            ]
        )
        mask = up.argmax(0).astype(np.uint8)
        mask = cv2.resize(
            mask, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST
        )
        return dict(mask=mask)

    def _decode_pose(self, heatmaps: np.ndarray, box) -> dict:
        """Argmax of each heatmap, a quarter pixel towards the higher
        neighbour (the classic refinement), mapped back to the picture."""
        center, size = box
        k, hh, hw = heatmaps.shape
        flat = heatmaps.reshape(k, -1)
        idx = flat.argmax(1)
        scores = flat.max(1)
        ys, xs = (v.astype(np.float64) for v in np.divmod(idx, hw))
        for j in range(k):
            x, y = int(xs[j]), int(ys[j])
            if 0 < x < hw - 1:
                xs[j] += 0.25 * np.sign(
                    heatmaps[j, y, x + 1] - heatmaps[j, y, x - 1]
                )
            if 0 < y < hh - 1:
                ys[j] += 0.25 * np.sign(
                    heatmaps[j, y + 1, x] - heatmaps[j, y - 1, x]
                )
        # Heatmap pixel -> input pixel -> picture pixel.
        px = xs * self.width / hw
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
        """The picture with the skeleton (keypoints scoring at least
        ``threshold``) or the mask and a legend of its classes drawn."""
        canvas = image.copy()
        if 'mask' in result:
            return self._draw_mask(canvas, result['mask'])
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

    def _draw_mask(self, canvas: np.ndarray, mask: np.ndarray) -> np.ndarray:
        palette = np.asarray(self.meta['palette'], np.uint8)[:, ::-1]
        colored = palette[np.minimum(mask, len(palette) - 1)]
        canvas = cv2.addWeighted(canvas, 0.5, colored, 0.5, 0)
        present = [int(c) for c in np.unique(mask) if c < len(palette)]
        scale = max(0.4, canvas.shape[0] / 1000)
        row = int(26 * scale) + 4
        for i, c in enumerate(present):
            y = 8 + i * row
            cv2.rectangle(
                canvas,
                (8, y),
                (8 + row - 4, y + row - 4),
                tuple(int(v) for v in palette[c]),
                -1,
            )
            cv2.putText(
                canvas,
                str(self.meta['classes'][c]),
                (12 + row, y + row - 8),
                cv2.FONT_HERSHEY_SIMPLEX,
                scale * 0.6,
                (255, 255, 255),
                max(1, round(scale)),
                cv2.LINE_AA,
            )
        return canvas


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
        raise ValueError(
            f'{file}: not an image OpenCV can read; expected a JPEG, PNG '
            'or BMP file'
        )
    return image
