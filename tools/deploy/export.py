"""Export a Lite-HRNet pose or segmentation model (its backbone in deploy
form) for one runtime at one precision, checked against PyTorch.

    python tools/deploy/export.py CONFIG CHECKPOINT --runtime RUNTIME \\
        --precision PRECISION --shape H W --output FILE [--batch 1] \\
        [--dynamic-batch] [--calib-dir IMAGES] [--calib-images 300] \\
        [--atol 1e-4] [--cfg-options KEY=VALUE ...]

CHECKPOINT may be ``none`` to export randomly initialised weights. int8
calibrates on ``--calib-images`` images: those of ``--calib-dir``, else the
config's training split (through its test pipeline). The artifact is
loaded by the runtime and compared with PyTorch before it is kept (fp32
must agree within ``--atol`` relative to the output scale, or nothing is
written; reduced precision reports the difference: judge it by accuracy on
a trained model); its metadata (``FILE.json``) carries what
``tools/deploy/infer.py`` and ``load_runtime`` need. The last line printed
is the artifact's path.
"""

import argparse
import tempfile

from mmengine.config import Config, DictAction

from litehrnet_mm.analysis.models import (
    build_from_config,
    default_shape,
    parse_shape,
)
from litehrnet_mm.deploy.export import check_pair, export
from litehrnet_mm.deploy.exporters import PRECISIONS
from litehrnet_mm.deploy.metadata import config_metadata


def calibration(cfg, checkpoint, args, meta, shape):
    """int8 calibration images, as the model sees them."""
    if args.calib_dir:
        from litehrnet_mm.deploy.predict import load_inputs

        meta = dict(meta, input_shape=[1, 3, *shape])
        images = load_inputs(args.calib_dir, meta, args.calib_images)
        source = args.calib_dir
    else:
        from mmengine.registry import init_default_scope

        from litehrnet_mm.analysis.models import scope_of
        from litehrnet_mm.deploy.quantize import (
            build_runner,
            calibration_inputs,
        )

        init_default_scope(scope_of(cfg))
        with tempfile.TemporaryDirectory() as work_dir:
            runner = build_runner(cfg, checkpoint, work_dir)
            images = calibration_inputs(runner, cfg, args.calib_images)
        source = 'the training split'
    if not images:
        raise SystemExit(f'export: no calibration images in {source}')
    print(f'calibrating on {len(images)} images of {source}', flush=True)
    return images


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="a .pth file, or 'none'")
    parser.add_argument('--runtime', required=True, choices=sorted(PRECISIONS))
    parser.add_argument('--precision', default='fp32')
    parser.add_argument('--shape', type=int, nargs='+')
    parser.add_argument('--output', required=True)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--dynamic-batch', action='store_true')
    parser.add_argument('--calib-dir')
    parser.add_argument('--calib-images', type=int, default=300)
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    try:
        check_pair(args.runtime, args.precision)
    except ValueError as e:
        parser.error(str(e))
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_from_config(cfg, checkpoint)
    shape = parse_shape(args.shape) or default_shape(cfg)
    meta = config_metadata(cfg)
    calib = None
    if args.precision == 'int8':
        calib = calibration(cfg, checkpoint, args, meta, shape)
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
    main()
