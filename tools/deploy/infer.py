"""Run an exported Lite-HRNet model on an image or a folder of images and
write each picture with the skeleton or the mask drawn.

    python tools/deploy/infer.py ARTIFACT IMAGE_OR_FOLDER [--out-dir vis] \\
        [--runtime NAME] [--threads N] [--kpt-thr 0.3]

ARTIFACT is any file ``tools/deploy/export.py`` wrote (its metadata says
the task, what pre- and post-processing need, and the runtime and
precision it was made for; ``--runtime`` overrides the runtime). Pose: the
whole picture is the person's box (crop people first for crowds). Prints
one line per picture and, last, images per second (preparing, running
and decoding; and end to end with reading, drawing and writing).
"""

import argparse
import os
import time

import cv2

from litehrnet_mm.deploy.artifact import read_metadata
from litehrnet_mm.deploy.predict import (
    list_images,
    make_predictor,
    read_image,
)
from litehrnet_mm.deploy.runtimes import RUNTIMES, load_runtime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='an artifact of tools/deploy/export.py')
    parser.add_argument('input', help='an image or a folder of images')
    parser.add_argument('--out-dir', default='vis')
    parser.add_argument(
        '--runtime', choices=sorted(RUNTIMES), help="default: the artifact's"
    )
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    args = parser.parse_args(argv)
    files = list_images(args.input)
    runtime = load_runtime(args.model, args.runtime, threads=args.threads)
    predictor = make_predictor(read_metadata(args.model), runtime)
    os.makedirs(args.out_dir, exist_ok=True)
    start = time.perf_counter()
    model_seconds = 0.0
    for i in range(0, len(files), predictor.batch):
        chunk = files[i : i + predictor.batch]
        images = [read_image(f) for f in chunk]
        tick = time.perf_counter()
        results = predictor(images)
        model_seconds += time.perf_counter() - tick
        for file, image, result in zip(chunk, images, results):
            out = os.path.join(args.out_dir, os.path.basename(file))
            cv2.imwrite(out, predictor.draw(image, result, args.kpt_thr))
            print(f'{file} -> {out}')
    total = time.perf_counter() - start
    print(
        f'{len(files)} images with {runtime.name}: '
        f'{len(files) / model_seconds:.1f} images/s (prepare, run, decode), '
        f'{len(files) / total:.1f} images/s (end to end)'
    )


if __name__ == '__main__':
    main()
