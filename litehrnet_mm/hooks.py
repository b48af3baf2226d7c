"""Does the model's head fit the dataset's labels? One check, before the
first step.

A config for a dataset of your own inherits ours and changes the keypoints
or classes in ``metainfo``; forgetting ``model.head.out_channels`` (pose)
or ``model.decode_head.num_classes`` (seg) fails deep inside the loss
(``The size of tensor a (17) must match the size of tensor b (5)``) or,
with more classes in the head than in the dataset, trains and scores
without a word. :func:`check_head_fits` says which setting to change;
:class:`CheckDataFitsModel`, in our configs' ``default_hooks``, runs it in
``mim train``, ``mim test`` and ``val`` before the model sees a batch, and
the exporter runs it on the config. In a test it also refuses a checkpoint
whose head has another shape than the config's, or whose backbone is
another preset.
"""

from typing import Optional, Sequence

from mmengine.hooks import Hook

from litehrnet_mm.errors import ConfigError, DatasetError
from litehrnet_mm.registry import HOOKS

__all__ = [
    'CheckDataFitsModel',
    'check_coco_metric_file',
    'check_head_fits',
    'check_model_fits_dataset',
]

_SETTINGS = {
    'pose': (
        'model.head.out_channels',
        'keypoints',
        'one heatmap per keypoint',
    ),
    'seg': ('model.decode_head.num_classes', 'classes', 'one map per class'),
}


def check_head_fits(
    task: str,
    head_count: Optional[int],
    labels: Optional[Sequence[str]],
    source: str,
    setting: Optional[str] = None,
) -> None:
    """Raise :class:`~litehrnet_mm.errors.ConfigError` unless the head
    returns one channel per keypoint (``task='pose'``) or class (``'seg'``).

    Args:
        task (str): ``'pose'`` or ``'seg'``.
        head_count (int | None): The head's keypoints or classes; None
            skips the check (a head of another kind).
        labels (Sequence[str] | None): The dataset's keypoint or class
            names; None or empty skips the check (no metainfo to compare).
        source (str): Where the labels come from (the dataset, the config).
        setting (str, optional): The config key to change; defaults to
            the task's head setting.
    """
    if head_count is None or not labels:
        return
    default, what, why = _SETTINGS[task]
    setting = setting or default
    count = len(labels)
    if int(head_count) == count:
        return
    shown = ', '.join(map(str, list(labels)[:6]))
    more = ', ...' if count > 6 else ''
    raise ConfigError(
        f'{setting}={head_count}, but {source} has {count} {what} '
        f'({shown}{more}); expected {setting}={count} ({why}; a dataset of '
        f'your own changes both, see the README\'s "Your own dataset")'
    )


def _unwrap(model):
    return getattr(model, 'module', model)


def check_model_fits_dataset(model, dataset, split: str) -> None:
    """:func:`check_head_fits` for a built mmpose or mmseg model and a
    built dataset (``dataset.metainfo``)."""
    model = _unwrap(model)
    meta = getattr(dataset, 'metainfo', None) or {}
    name = meta.get('dataset_name') or type(dataset).__name__
    source = f'the {split} dataset ({name})'
    head = getattr(model, 'head', None)
    if head is not None and 'num_keypoints' in meta:
        try:
            from mmpose.models.heads import HeatmapHead
        except ImportError:  # pragma: no cover - mmpose absent
            return
        if isinstance(head, HeatmapHead):
            names = meta.get('keypoint_id2name') or {}
            labels = [
                names.get(i, str(i)) for i in range(meta['num_keypoints'])
            ]
            check_head_fits('pose', head.out_channels, labels, source)
        return
    classes = meta.get('classes')
    for key in ('decode_head', 'auxiliary_head'):
        heads = getattr(model, key, None)
        if heads is None:
            continue
        for i, part in enumerate(
            heads if hasattr(heads, '__iter__') else [heads]
        ):
            setting = f'model.{key}' + (
                f'[{i}]' if hasattr(heads, '__iter__') else ''
            )
            check_head_fits(
                'seg',
                getattr(part, 'num_classes', None),
                classes,
                source,
                f'{setting}.num_classes',
            )


def check_coco_metric_file(metric) -> None:
    """mmpose's ``CocoMetric`` with an ``ann_file`` whose annotations lack
    ``area``: COCO's evaluation failed on ``KeyError: 'area'`` at the end
    of the first validation, after a whole training interval (a dataset of
    one's own often has none: mmpose's dataset estimates it, its metric
    reads the file)."""
    coco = getattr(metric, 'coco', None)
    if type(metric).__name__ != 'CocoMetric' or coco is None:
        return
    anns = coco.dataset.get('annotations', [])
    missing = [ann.get('id') for ann in anns if 'area' not in ann]
    if missing:
        raise DatasetError(
            f'CocoMetric: annotation file {metric.ann_file}: '
            f'{len(missing)} of {len(anns)} annotations have no area (e.g. '
            f"id {missing[0]}), which COCO's keypoint AP reads; expected an "
            "'area' per annotation (the person's area in pixels; mmpose "
            "estimates it as 0.53 x the box's w x h where it has none)"
        )


@HOOKS.register_module()
class CheckDataFitsModel(Hook):
    """Before a run: the model's head fits the dataset of every loop the
    runner built (train and val in ``mim train``, test in ``mim test``)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        from mmengine.runner import BaseLoop

        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if isinstance(loop, BaseLoop):
                check_model_fits_dataset(
                    runner.model, loop.dataloader.dataset, split
                )
                for metric in getattr(
                    getattr(loop, 'evaluator', None), 'metrics', []
                ):
                    check_coco_metric_file(metric)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """In a test or validation run (``mim test``): a checkpoint whose
        head has another shape than the config's (trained for other
        keypoints or classes), or whose LiteHRNet is another preset, is
        refused; mmengine loads the rest with a warning and scores the
        untrained head (or backbone). Training keeps mmengine's
        warning: ``load_from`` a checkpoint of other keypoints or classes
        is how one fine-tunes on one's own."""
        from mmengine.runner import BaseLoop

        from litehrnet_mm.analysis.models import (
            check_checkpoint_shapes,
            unwrapped_names,
        )

        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            return
        state_dict = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state_dict, dict):
            return
        check_checkpoint_shapes(
            _unwrap(runner.model),
            unwrapped_names(state_dict),
            getattr(runner, '_load_from', None) or 'loaded',
        )
