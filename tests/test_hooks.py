"""The check that a config's head fits its dataset (hooks.py): a config
for a dataset of one's own that forgets the head's keypoints or classes
gets one error naming the setting before the first step, where mmpose
failed inside the loss on a shape mismatch and mmseg trained and scored
a head of more classes without a word."""

from types import SimpleNamespace

import pytest

from litehrnet_mm import ConfigError
from litehrnet_mm.hooks import (
    CheckDataFitsModel,
    check_head_fits,
    check_model_fits_dataset,
)
from tests.conftest import DEMO_CONFIGS, REPO
from tests.test_models.hosts import topdown_pose_model

FIVE = dict(
    dataset_name='five',
    num_keypoints=5,
    keypoint_id2name=dict(enumerate(['nose', 'l_sh', 'r_sh', 'l_hp', 'r_hp'])),
)


def test_a_head_that_fits_passes_and_one_that_does_not_is_named():
    check_head_fits('pose', 5, list('abcde'), 'the train dataset (five)')
    check_head_fits('seg', 19, None, 'the dataset')  # no classes: no check
    check_head_fits('pose', None, list('abc'), 'the dataset')  # other head
    with pytest.raises(
        ConfigError,
        match=r'^model.head.out_channels=17, but the train dataset \(five\) '
        r'has 5 keypoints \(a, b, c, d, e\); expected model.head.out_chann'
        r'els=5 \(one heatmap per keypoint',
    ):
        check_head_fits('pose', 17, list('abcde'), 'the train dataset (five)')
    with pytest.raises(
        ConfigError,
        match=r'model.decode_head.num_classes=19, but the val dataset has '
        r'3 classes \(background, road, car\); expected model.decode_head.n',
    ):
        check_head_fits(
            'seg', 19, ('background', 'road', 'car'), 'the val dataset'
        )


def test_a_pose_model_against_its_dataset():
    model = topdown_pose_model()  # 17 heatmaps
    five = SimpleNamespace(metainfo=FIVE)
    with pytest.raises(ConfigError, match=r'\(five\) has 5 keypoints \(nose'):
        check_model_fits_dataset(model, five, 'train')
    seventeen = dict(FIVE, num_keypoints=17, keypoint_id2name={})
    check_model_fits_dataset(model, SimpleNamespace(metainfo=seventeen), 'x')


def test_the_hook_checks_every_loop_the_runner_built():
    """mim train builds the train and val loops before ``before_run``; a
    loop still a dict (not built for this run) is not looked at."""
    from mmengine.runner import BaseLoop

    class Loop(BaseLoop):
        def run(self):
            pass

    class Dataset(list):
        metainfo = dict(classes=('background', 'road', 'car'))

    from torch.utils.data import DataLoader

    runner = SimpleNamespace(
        model=SimpleNamespace(decode_head=SimpleNamespace(num_classes=3)),
        _train_loop=dict(type='IterBasedTrainLoop'),
    )
    runner._val_loop = Loop(runner, DataLoader(Dataset([0])))
    hook = CheckDataFitsModel()
    hook.before_run(runner)
    runner.model.decode_head.num_classes = 19
    with pytest.raises(ConfigError, match=r'the val dataset \(Dataset\) h'):
        hook.before_run(runner)


def test_our_configs_run_the_check():
    """Every pose and seg config (and the demos) lists the hook in
    ``default_hooks``, so a config of one's own that inherits ours runs it;
    the name resolves from the hosts' scopes."""
    from mmengine.config import Config
    from mmengine.registry import HOOKS, init_default_scope

    pytest.importorskip('mmpose')
    pytest.importorskip('mmseg')
    configs = [
        p
        for p in sorted((REPO / 'configs').glob('*/*/*.py'))
        if p.parent.name != '_base_'
    ] + sorted(DEMO_CONFIGS.glob('*.py'))
    assert len(configs) >= 17
    for path in configs:
        hooks = Config.fromfile(str(path)).default_hooks
        assert hooks.check_data.type == 'litehrnet_mm.CheckDataFitsModel', path
    init_default_scope('mmpose')
    assert isinstance(
        HOOKS.build(dict(type='litehrnet_mm.CheckDataFitsModel')),
        CheckDataFitsModel,
    )


def test_a_test_run_refuses_a_checkpoint_of_another_head_size():
    """mim test of a 5-keypoint config with a 17-keypoint checkpoint:
    mmengine loaded the rest with a warning and scored an untrained head.
    Training keeps the warning (fine-tuning from another keypoint set)."""
    from mmengine.runner import BaseLoop
    from torch.utils.data import DataLoader

    from litehrnet_mm import CheckpointError

    class Loop(BaseLoop):
        def run(self):
            pass

    seventeen = topdown_pose_model().state_dict()
    checkpoint = {
        'state_dict': {f'module.{k}': v for k, v in seventeen.items()}
    }
    five = topdown_pose_model()
    five.head.final_layer = type(five.head.final_layer)(40, 5, 1)
    runner = SimpleNamespace(
        model=five, _train_loop=dict(), _load_from='coco17.pth'
    )
    hook = CheckDataFitsModel()
    with pytest.raises(
        CheckpointError,
        match=r'coco17.pth does not fit the config: 2 entries of another '
        r'shape, e.g. head.final_layer.weight \(17, 40, 1, 1\) in the chec',
    ):
        hook.after_load_checkpoint(runner, checkpoint)
    # A bare state dict (no 'state_dict' entry), as mmengine loads it too.
    with pytest.raises(CheckpointError, match=r'coco17.pth does not fit'):
        hook.after_load_checkpoint(runner, dict(checkpoint['state_dict']))
    hook.after_load_checkpoint(
        SimpleNamespace(model=topdown_pose_model(), _train_loop=dict()),
        checkpoint,
    )
    # Entries the model lacks are left to mmengine's load (a warning).
    checkpoint['state_dict']['module.head.extra'] = seventeen[
        'head.final_layer.bias'
    ]
    hook.after_load_checkpoint(
        SimpleNamespace(model=topdown_pose_model(), _train_loop=dict()),
        checkpoint,
    )
    runner._train_loop = Loop(runner, DataLoader([0]))
    hook.after_load_checkpoint(runner, checkpoint)


def test_a_coco_metric_file_without_area_is_named(tmp_path):
    """pycocotools' KeyError: 'area' came at the end of the first
    validation, after a whole training interval."""
    import json

    pytest.importorskip('mmpose')
    from mmpose.evaluation import CocoMetric

    from litehrnet_mm.datasets import DatasetError
    from litehrnet_mm.hooks import check_coco_metric_file

    ann = dict(
        id=7, image_id=1, category_id=1, bbox=[0, 0, 4, 4], iscrowd=0,
        keypoints=[1, 1, 2] * 5, num_keypoints=5,
    )  # fmt: skip
    data = dict(
        images=[dict(id=1, file_name='a.png', width=8, height=8)],
        annotations=[ann],
        categories=[dict(id=1, name='person')],
    )
    path = tmp_path / 'val.json'
    path.write_text(json.dumps(data))
    with pytest.raises(
        DatasetError,
        match=r'CocoMetric: annotation file .*val.json: 1 of 1 annotations '
        r"have no area \(e.g. id 7\), which COCO's keypoint AP reads",
    ):
        check_coco_metric_file(CocoMetric(ann_file=str(path)))
    ann['area'] = 12.0
    path.write_text(json.dumps(data))
    check_coco_metric_file(CocoMetric(ann_file=str(path)))
    check_coco_metric_file(CocoMetric(ann_file=None))


def test_many_labels_are_shown_as_the_first_six():
    names = [f'k{i}' for i in range(17)]
    with pytest.raises(
        ConfigError,
        match=r'has 17 keypoints \(k0, k1, k2, k3, k4, k5, \.\.\.\)',
    ):
        check_head_fits('pose', 5, names, 'the dataset')
    with pytest.raises(ConfigError, match=r'has 6 keypoints \(k0, .*, k5\);'):
        check_head_fits('pose', 5, names[:6], 'the dataset')


def test_the_number_of_keypoints_is_checked_without_their_names():
    """mmpose's metainfo always has num_keypoints; the names are only
    shown."""
    model = topdown_pose_model()  # 17 heatmaps
    nameless = dict(FIVE, keypoint_id2name={})
    with pytest.raises(ConfigError, match=r'5 keypoints \(0, 1, 2, 3, 4\)'):
        check_model_fits_dataset(
            model, SimpleNamespace(metainfo=nameless), 'x'
        )
    # No metainfo to compare: nothing to say.
    check_model_fits_dataset(model, SimpleNamespace(metainfo={}), 'x')
    check_model_fits_dataset(model, SimpleNamespace(), 'x')
    # A head of another kind (no heatmaps) is not looked at.
    other = SimpleNamespace(head=SimpleNamespace())
    check_model_fits_dataset(other, SimpleNamespace(metainfo=FIVE), 'x')


def test_every_seg_head_of_a_wrapped_model_is_named_by_its_setting():
    """A model in DistributedDataParallel (``.module``), with a list of
    auxiliary heads: the message names the one to change."""
    three = SimpleNamespace(
        metainfo=dict(classes=('background', 'road', 'car'))
    )

    def wrapped(decode, *auxiliary):
        heads = [SimpleNamespace(num_classes=n) for n in auxiliary]
        return SimpleNamespace(
            module=SimpleNamespace(
                decode_head=SimpleNamespace(num_classes=decode),
                auxiliary_head=heads[0] if len(heads) == 1 else heads,
            )
        )

    check_model_fits_dataset(wrapped(3, 3, 3), three, 'train')
    with pytest.raises(
        ConfigError,
        match=r'^model.auxiliary_head\[1\].num_classes=19, but the train da'
        r'taset \(SimpleNamespace\) has 3 classes .*; expected model.auxi'
        r'liary_head\[1\].num_classes=3 ',
    ):
        check_model_fits_dataset(wrapped(3, 3, 19), three, 'train')
    with pytest.raises(
        ConfigError, match=r'^model.auxiliary_head.num_classes=19, but'
    ):
        check_model_fits_dataset(wrapped(3, 19), three, 'train')
    with pytest.raises(ConfigError, match=r'^model.decode_head.num_classes=1'):
        check_model_fits_dataset(wrapped(19, 3), three, 'train')


def test_the_hook_checks_the_test_loop_and_each_loop_s_coco_metric():
    """mim test builds the test loop alone; a CocoMetric of an annotation
    file without area failed only after the whole test."""
    from mmengine.runner import BaseLoop
    from torch.utils.data import DataLoader

    from litehrnet_mm.datasets import DatasetError

    class Loop(BaseLoop):
        def run(self):
            pass

    class Dataset(list):
        metainfo = dict(classes=('background', 'road', 'car'))

    class CocoMetric:
        ann_file = 'val.json'
        coco = SimpleNamespace(dataset=dict(annotations=[dict(id=3)]))

    runner = SimpleNamespace(
        model=SimpleNamespace(decode_head=SimpleNamespace(num_classes=19))
    )
    runner._test_loop = Loop(runner, DataLoader(Dataset([0])))
    hook = CheckDataFitsModel()
    with pytest.raises(ConfigError, match=r'the test dataset \(Dataset\) h'):
        hook.before_run(runner)
    runner.model.decode_head.num_classes = 3
    hook.before_run(runner)
    runner._test_loop.evaluator = SimpleNamespace(metrics=[CocoMetric()])
    with pytest.raises(DatasetError, match=r'val.json: 1 of 1 annotations'):
        hook.before_run(runner)


def test_a_coco_metric_s_count_and_example_of_annotations_without_area():
    from litehrnet_mm.datasets import DatasetError
    from litehrnet_mm.hooks import check_coco_metric_file

    class CocoMetric:
        ann_file = 'val.json'
        coco = SimpleNamespace(
            dataset=dict(
                annotations=[dict(id=6, area=1.0), dict(id=7), dict(id=8)]
            )
        )

    with pytest.raises(
        DatasetError,
        match=r'val.json: 2 of 3 annotations have no area \(e'
        r'.g. id 7\)',
    ):
        check_coco_metric_file(CocoMetric())


def test_a_wrapped_model_s_checkpoint_of_another_head_size_is_refused():
    """mim test with --launcher: the runner's model is wrapped
    (``.module``), as the checkpoint's keys may be."""
    from litehrnet_mm import CheckpointError

    checkpoint = {'state_dict': topdown_pose_model().state_dict()}
    five = topdown_pose_model()
    five.head.final_layer = type(five.head.final_layer)(40, 5, 1)
    runner = SimpleNamespace(model=SimpleNamespace(module=five))
    with pytest.raises(CheckpointError, match=r'^checkpoint loaded does n'):
        CheckDataFitsModel().after_load_checkpoint(runner, checkpoint)


def test_a_test_run_refuses_a_backbone_of_the_same_layers_in_other_widths():
    """naive-18 in a wider-naive-18 config: the backbone's load warned and
    left those entries out, and mim test scored a backbone partly
    untrained."""
    from litehrnet_mm import CheckpointError

    wider = topdown_pose_model('wider-naive-18')
    state_dict = {
        **wider.state_dict(),
        **{
            k: v
            for k, v in topdown_pose_model('naive-18').state_dict().items()
            if k.startswith('backbone.')
        },
    }
    runner = SimpleNamespace(model=wider, _load_from='naive.pth')
    with pytest.raises(
        CheckpointError,
        match=r'^checkpoint naive.pth: the state dict does not fit this Lit'
        r"eHRNet \(arch='wider-naive-18'\): its tensors: \d+ with other sh",
    ):
        CheckDataFitsModel().after_load_checkpoint(
            runner, {'state_dict': state_dict}
        )
