"""Run an exported Lite-HRNet model on an image or a folder of images and
write each picture with the skeleton or the mask drawn.

    python tools/deploy/infer.py ARTIFACT IMAGE_OR_FOLDER [--out-dir vis] \\
        [--runtime NAME] [--threads N] [--kpt-thr 0.3]

ARTIFACT is any file ``tools/deploy/export.py`` wrote (its metadata says
the task, what pre- and post-processing need, and the runtime and
precision it was made for; ``--runtime`` overrides the runtime). Pose: the
whole picture is the person's box (crop people first for crowds). Prints
one line per picture and, last, images per second (preparing, running
and decoding; and end to end with reading, drawing and writing). A file of
a folder that is not a readable image is skipped with a line saying so;
pictures are never written over the images they were drawn from. Each
picture is named as its image (``.png`` added where OpenCV writes no file
of that suffix).
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
from litehrnet_mm.errors import DeployError
from litehrnet_mm.utils.cli import (
    description,
    fraction,
    positive_int,
    run_tool,
)
from litehrnet_mm.utils.paths import make_folder


def check_out_dir(out_dir: str, outputs: dict) -> None:
    """Make ``out_dir``, or one clear error; and one before anything is
    written when a picture would replace an input image (``--out-dir`` the
    input folder) or a folder is where a picture goes (OpenCV would write
    nothing and say nothing)."""
    make_folder(out_dir, '--out-dir', DeployError)
    for image, out in outputs.items():
        if os.path.isdir(out):
            raise DeployError(
                f'--out-dir {out_dir}: {out} is a folder; expected the path '
                'of a picture to write'
            )
        if os.path.exists(out) and os.path.samefile(image, out):
            raise DeployError(
                f'--out-dir {out_dir}: {out} would replace the input image '
                f'{image}; expected another folder for the pictures'
            )


def picture_path(out_dir: str, image: str) -> str:
    """Where the picture drawn on ``image`` goes: its name in ``out_dir``,
    with ``.png`` added when OpenCV writes no file of its suffix (an image
    named without one, or of a kind OpenCV reads but cannot write)."""
    out = os.path.join(out_dir, os.path.basename(image))
    return out if cv2.haveImageWriter(out) else out + '.png'


def main(argv=None):
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('model', help='an artifact of tools/deploy/export.py')
    parser.add_argument('input', help='an image or a folder of images')
    parser.add_argument('--out-dir', default='vis')
    parser.add_argument(
        '--runtime', choices=sorted(RUNTIMES), help="default: the artifact's"
    )
    parser.add_argument('--threads', type=positive_int, default=None)
    parser.add_argument('--kpt-thr', type=fraction, default=0.3)
    args = parser.parse_args(argv)
    files = list_images(args.input)
    outputs = {f: picture_path(args.out_dir, f) for f in files}
    runtime = load_runtime(args.model, args.runtime, threads=args.threads)
    predictor = make_predictor(read_metadata(args.model), runtime)
    check_out_dir(args.out_dir, outputs)
    start = time.perf_counter()
    model_seconds = 0.0
    done = 0
    for i in range(0, len(files), predictor.batch):
        chunk, images = [], []
        for file in files[i : i + predictor.batch]:
            try:
                images.append(read_image(file))
                chunk.append(file)
            except ValueError as e:
                if len(files) == 1:
                    raise
                print(f'skipped {e}')
        if not chunk:
            continue
        tick = time.perf_counter()
        results = predictor(images)
        model_seconds += time.perf_counter() - tick
        for file, image, result in zip(chunk, images, results):
            out = outputs[file]
            if not cv2.imwrite(
                out, predictor.draw(image, result, args.kpt_thr)
            ):
                raise DeployError(
                    f'infer: OpenCV could not write {out} (a full disk, or a '
                    'folder no longer writable?); expected a writable '
                    '--out-dir'
                )
            print(f'{file} -> {out}')
        done += len(chunk)
    if not done:
        raise DeployError(
            f'{args.input}: none of its {len(files)} files is a readable '
            'image; expected JPEG, PNG or BMP files'
        )
    total = time.perf_counter() - start
    print(
        f'{done} images with {runtime.name}: '
        f'{done / model_seconds:.1f} images/s (prepare, run, decode), '
        f'{done / total:.1f} images/s (end to end)'
    )


if __name__ == '__main__':
    run_tool(main)
