"""Export a Lite-HRNet pose or segmentation model (its backbone in deploy
form) for one runtime at one precision, checked against PyTorch.

    python tools/deploy/export.py CONFIG CHECKPOINT --runtime RUNTIME \\
        --precision PRECISION --shape H W --output FILE [--batch 1] \\
        [--dynamic-batch] [--calib-dir IMAGES] [--calib-images 300] \\
        [--atol 1e-4] [--max-drop DROP [--validation-items N]] \\
        [--cfg-options KEY=VALUE ...]

CHECKPOINT may be ``none`` to export randomly initialised weights. int8
calibrates on ``--calib-images`` images: those of ``--calib-dir``, else the
config's training split (through its test pipeline). The artifact is
loaded by the runtime and compared with PyTorch before it is kept (fp32
must agree within ``--atol`` relative to the output scale, or nothing is
written; reduced precision reports the difference: judge it by accuracy on
a trained model); its metadata (``FILE.json``) carries what
``tools/deploy/infer.py`` and ``load_runtime`` need. The last line printed
is the artifact's path.

``--max-drop`` (OpenVINO int8) runs NNCF's accuracy control: quantizers go
back to fp32 until int8 loses at most DROP of the host's metric (AP for
pose, mIoU for segmentation) on the config's training split (its first
``--validation-items``, person boxes for pose and images for segmentation;
default all), measured by the host's own test step and evaluator
(``litehrnet_mm.deploy.accuracy_control``). The metadata records the
measurements.
"""

import argparse
import contextlib
import os
import tempfile

from litehrnet_mm.analysis.models import (
    build_from_config,
    default_shape,
    load_config,
    parse_shape,
)
from litehrnet_mm.deploy.export import (
    check_accuracy_control,
    check_dynamic_batch,
    check_output,
    check_pair,
    export,
    folder_kept_only_on_success,
)
from litehrnet_mm.deploy.exporters import PRECISIONS
from litehrnet_mm.deploy.exporters.converter_venv import (
    CONVERTED_IN_VENV,
    converters_python,
)
from litehrnet_mm.deploy.metadata import config_metadata
from litehrnet_mm.utils.cli import (
    CfgOptions,
    description,
    positive_int,
    run_tool,
)


def calibration(cfg, args, meta, shape, runner):
    """int8 calibration images, as the model sees them."""
    if args.calib_dir:
        from litehrnet_mm.deploy.predict import load_inputs

        meta = dict(meta, input_shape=[1, 3, *shape])
        images = load_inputs(args.calib_dir, meta, args.calib_images)
        source = args.calib_dir
    else:
        from litehrnet_mm.deploy.quantize import calibration_inputs

        images = calibration_inputs(runner, cfg, args.calib_images)
        source = 'the training split'
    if not images:
        raise SystemExit(f'export: no calibration images in {source}')
    print(f'calibrating on {len(images)} images of {source}', flush=True)
    return images


@contextlib.contextmanager
def host_runner(cfg, checkpoint, needed: bool):
    """The host's runner for the training split (calibration, accuracy
    control), in a temporary work folder; None when not ``needed``."""
    if not needed:
        yield None
        return
    from mmengine.registry import init_default_scope

    from litehrnet_mm.analysis.models import scope_of
    from litehrnet_mm.deploy.quantize import build_runner

    init_default_scope(scope_of(cfg))
    with tempfile.TemporaryDirectory() as work_dir:
        yield build_runner(cfg, checkpoint, work_dir)


def build_and_export(args, shape, checkpoint, inputs):
    """The model of the config, exported as ``args`` ask; returns it, the
    input shape and the export's result."""
    cfg = load_config(args.config, args.cfg_options)
    # The config's own parts first (a head that does not fit its
    # dataset), then the checkpoint against the config.
    meta = config_metadata(cfg)
    model = build_from_config(cfg, checkpoint)
    shape = shape or default_shape(cfg)
    int8 = args.precision == 'int8'
    needs_runner = args.max_drop is not None or (int8 and not args.calib_dir)
    with host_runner(cfg, checkpoint, needs_runner) as runner:
        calib = calibration(cfg, args, meta, shape, runner) if int8 else None
        validation = None
        if args.max_drop is not None:
            from litehrnet_mm.deploy.accuracy_control import HostMetric

            validation = HostMetric(runner, cfg, args.validation_items)
            print(
                f'accuracy control: {validation.key} may drop at most '
                f'{args.max_drop:g} on {len(validation.items)} items of the '
                'training split',
                flush=True,
            )
        result = export(
            model,
            args.runtime,
            args.precision,
            shape,
            args.output,
            batch=args.batch,
            calib=calib,
            metadata=meta,
            dynamic_batch=args.dynamic_batch,
            atol=args.atol if args.precision == 'fp32' else None,
            max_drop=args.max_drop,
            validation=validation,
            inputs=inputs,
        )
    return model, shape, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="a .pth file, or 'none'")
    parser.add_argument('--runtime', required=True, choices=sorted(PRECISIONS))
    parser.add_argument('--precision', default='fp32')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        metavar='H W',
        help='input height and width (one value: a square); default: the '
        "config's input size",
    )
    parser.add_argument('--output', required=True)
    parser.add_argument('--batch', type=positive_int, default=1)
    parser.add_argument('--dynamic-batch', action='store_true')
    parser.add_argument(
        '--calib-dir',
        help='int8: images to calibrate on (default: the '
        "config's training split)",
    )
    parser.add_argument('--calib-images', type=positive_int, default=300)
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument(
        '--max-drop',
        type=float,
        help='OpenVINO int8: NNCF accuracy control, at most this loss of '
        'AP (pose) or mIoU (segmentation) on the training split',
    )
    parser.add_argument('--validation-items', type=positive_int)
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptions)
    args = parser.parse_args(argv)
    try:
        check_pair(args.runtime, args.precision)
        check_dynamic_batch(args.runtime, args.dynamic_batch)
        check_accuracy_control(args.runtime, args.precision, args.max_drop)
    except ValueError as e:
        parser.error(str(e))
    if args.runtime in CONVERTED_IN_VENV:
        converters_python()  # one clear error, before the model is built
    if args.validation_items is not None and args.max_drop is None:
        parser.error('--validation-items goes with --max-drop')
    if args.calib_dir and args.precision != 'int8':
        parser.error('--calib-dir goes with --precision int8')
    if not args.atol > 0:
        parser.error(f'--atol {args.atol:g}; expected a number > 0')
    try:
        shape = parse_shape(args.shape)  # two ints >= 1, or None
    except ValueError as e:
        parser.error(str(e))
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    inputs = (args.config, checkpoint)
    # A refused export leaves no folder behind: those check_output makes
    # for the artifact go again.
    folder = os.path.dirname(os.path.abspath(args.output))
    with folder_kept_only_on_success(folder):
        check_output(args.output, args.runtime, inputs)
        model, shape, result = build_and_export(
            args, shape, checkpoint, inputs
        )
    batch = 'dynamic N' if args.dynamic_batch else f'N={args.batch}'
    verdict = f' (ok, atol {args.atol:g})' if args.precision == 'fp32' else ''
    print(
        f'exported {args.config} ({model.task}, input Nx3x{shape[0]}x'
        f'{shape[1]}, {batch}) for {args.runtime} at {args.precision}; '
        f'vs PyTorch max abs diff {result.max_abs_diff:.3e}, output scale '
        f'{result.output_scale:.3g}{verdict}'
    )
    print(result.path)


if __name__ == '__main__':
    run_tool(main)
