"""The models the tools measure and export (analysis/models.py): a preset
with the 1x1 heatmap conv, a host model from a config as ``image -> head
output``, the host and input size a config implies."""

import pytest
import torch
from mmengine.config import Config

from litehrnet_mm import CheckpointError, ConfigError
from litehrnet_mm.analysis.models import (
    HostModel,
    PoseModel,
    build_from_config,
    build_preset,
    check_checkpoint_shapes,
    check_checkpoint_task,
    default_shape,
    load_config,
    parse_shape,
    scope_of,
)
from litehrnet_mm.models.backbones.litehrnet import LiteHRNet
from tests.conftest import POSE_DEMO, SEG_DEMO


def test_a_preset_gives_heatmaps_in_eval_mode():
    model = build_preset('naive-18', num_keypoints=5)
    assert isinstance(model, PoseModel) and not model.training
    assert isinstance(model.backbone, LiteHRNet)
    x = torch.rand(2, 3, 64, 48)
    with torch.no_grad():
        heatmaps = model(x)
        assert torch.equal(heatmaps, model.final_layer(model.backbone(x)[0]))
    assert heatmaps.shape == (2, 5, 16, 12)


def test_the_host_of_a_config():
    cfg = Config(dict(default_scope='mmseg', model=dict(type='X')))
    assert scope_of(cfg) == 'mmseg'
    for model_type in ('EncoderDecoder', 'CascadeEncoderDecoder'):
        assert scope_of(Config(dict(model=dict(type=model_type)))) == 'mmseg'
    assert scope_of(Config(dict(model=dict(type='TopdownPoseEstimator')))) == (
        'mmpose'
    )
    assert scope_of(Config.fromfile(str(POSE_DEMO))) == 'mmpose'
    assert scope_of(Config.fromfile(str(SEG_DEMO))) == 'mmseg'


def test_the_input_size_of_a_config():
    assert default_shape(str(POSE_DEMO)) == (128, 96)  # codec (W, H)
    assert default_shape(str(SEG_DEMO)) == (64, 64)  # crop (H, W)
    assert default_shape(Config(dict(crop_size=(32, 48)))) == (32, 48)
    assert default_shape(Config(dict())) == (256, 192)


def test_shapes_from_the_command_line():
    assert parse_shape(None) is None
    assert parse_shape([64]) == (64, 64)
    assert parse_shape(['64', '48']) == (64, 48)
    with pytest.raises(ValueError, match=r'--shape 1 2 3; expected H W'):
        parse_shape([1, 2, 3])
    with pytest.raises(ValueError, match='ints >= 1'):
        parse_shape([-128, 96])
    with pytest.raises(ValueError, match='--shape 0 96'):
        parse_shape([0, 96])


@pytest.mark.parametrize('config', [POSE_DEMO, SEG_DEMO])
def test_a_config_builds_its_host_model_and_loads_a_checkpoint(
    config, tmp_path
):
    first = build_from_config(str(config))
    assert isinstance(first, HostModel) and not first.training
    assert first.task == ('seg' if config == SEG_DEMO else 'pose')
    assert first.backbone is first.model.backbone
    checkpoint = str(tmp_path / 'model.pth')
    with torch.no_grad():
        for p in first.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    torch.save({'state_dict': first.model.state_dict()}, checkpoint)
    second = build_from_config(Config.fromfile(str(config)), checkpoint)
    x = torch.rand(1, 3, *default_shape(str(config)))
    with torch.no_grad():
        expected = first.model._forward(x)
        got = second(x)
    if isinstance(expected, torch.Tensor):
        expected, got = [expected], [got]
    for e, g in zip(expected, got):
        assert torch.equal(e, g)


def test_a_config_file_that_cannot_be_one_gets_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='config .*nowhere.py: not'):
        load_config(str(tmp_path / 'nowhere.py'))
    text = tmp_path / 'notes.md'
    text.write_text('# notes')
    with pytest.raises(ConfigError, match=r'notes.md: not a config file'):
        load_config(str(text))
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    with pytest.raises(ConfigError, match='broken.py: mmengine cannot read'):
        load_config(str(broken))
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(ConfigError, match='empty.py: has no model'):
        load_config(str(empty))
    cfg = load_config(str(POSE_DEMO), {'model.backbone.arch': '30'})
    assert cfg.model.backbone.arch == '30'


def test_a_checkpoint_of_the_other_task_is_named(tmp_path):
    pose = build_from_config(str(POSE_DEMO))
    seg = build_from_config(str(SEG_DEMO))
    checkpoint = str(tmp_path / 'seg.pth')
    torch.save({'state_dict': seg.model.state_dict()}, checkpoint)
    with pytest.raises(CheckpointError, match=r'seg.pth: holds a segm.*pose'):
        build_from_config(str(POSE_DEMO), checkpoint)
    # The same check, on names alone; the right task passes.
    check_checkpoint_task(pose.model, pose.model.state_dict(), 'p.pth')
    with pytest.raises(CheckpointError, match=r'p.pth: holds a pose .*segm'):
        check_checkpoint_task(seg.model, pose.model.state_dict(), 'p.pth')


def test_a_checkpoint_of_another_head_size_is_one_error(tmp_path):
    """A checkpoint of a config for other keypoints or classes: one error
    naming an entry and both shapes, where torch's strict load listed
    every size mismatch in a traceback (export.py, evaluate.py)."""
    seg = build_from_config(str(SEG_DEMO))  # 6 classes
    checkpoint = str(tmp_path / 'six.pth')
    torch.save({'state_dict': seg.model.state_dict()}, checkpoint)
    cfg = Config.fromfile(str(SEG_DEMO))
    cfg.model.decode_head.num_classes = 3
    with pytest.raises(
        CheckpointError,
        match=r'six.pth does not fit the config: 2 entries of another shape, '
        r'e.g. decode_head.conv_seg.weight \(6, 320, 1, 1\) in the checkpo'
        r"int, \(3, 320, 1, 1\) in the config's model",
    ):
        build_from_config(cfg, checkpoint)
    # Another preset: the backbone's own check names the one it fits.
    cfg = Config.fromfile(str(SEG_DEMO))
    cfg.model.backbone.arch = 'wider-naive-18'
    with pytest.raises(CheckpointError, match="It fits arch='18'"):
        build_from_config(cfg, checkpoint)
    # The same layers in other widths: the backbone's load only warned of
    # them, and the strict load then failed listing each as missing.
    cfg.model.backbone.arch = 'naive-18'
    naive = str(tmp_path / 'naive.pth')
    torch.save(
        {'state_dict': build_from_config(cfg).model.state_dict()}, naive
    )
    cfg.model.backbone.arch = 'wider-naive-18'
    with pytest.raises(
        CheckpointError,
        match=r'naive.pth: the state dict does not fit this LiteHRNet \(arch'
        r"='wider-naive-18'\): its tensors: \d+ with other shapes \(transiti"
        r'on0.0.2.weight: checkpoint \(30, 32, 1, 1\) vs model \(40, 32, 1,'
        r'.*; expected the checkpoint of this config, or the config it was',
    ):
        build_from_config(cfg, naive)


@pytest.mark.parametrize(
    'content, why',
    [
        (b'', 'it is empty'),
        (b'PK\x03\x04 cut short', 'it is truncated or not a PyTorch'),
    ],
)
def test_a_broken_checkpoint_file_is_a_checkpoint_error(
    tmp_path, content, why
):
    broken = tmp_path / 'broken.pth'
    broken.write_bytes(content)
    with pytest.raises(
        CheckpointError, match=f'broken.pth cannot be read: {why}'
    ):
        build_from_config(str(POSE_DEMO), str(broken))


def test_a_failure_that_is_not_the_file_s_passes_unchanged(
    tmp_path, monkeypatch
):
    path = tmp_path / 'sound.pth'
    torch.save({'state_dict': {}}, path)

    def no_device(*args, **kwargs):
        raise RuntimeError('no such device')

    monkeypatch.setattr(torch, 'load', no_device)
    with pytest.raises(RuntimeError, match='no such device') as info:
        build_from_config(str(POSE_DEMO), str(path))
    assert not isinstance(info.value, CheckpointError)


def test_a_wrapped_model_s_checkpoint_loads_as_mmengine_loads_it(tmp_path):
    first = build_from_config(str(POSE_DEMO))
    checkpoint = str(tmp_path / 'ddp.pth')
    wrapped = {f'module.{k}': v for k, v in first.model.state_dict().items()}
    torch.save({'state_dict': wrapped}, checkpoint)
    second = build_from_config(str(POSE_DEMO), checkpoint)
    for (name, a), b in zip(
        first.model.state_dict().items(), second.model.state_dict().values()
    ):
        assert torch.equal(a, b), name


def test_the_shape_check_leaves_the_backbone_and_other_entries_alone():
    """The backbone's entries go to its own load check (which names the
    preset they fit), entries the model lacks to the strict load."""
    model = torch.nn.Module()
    model.backbone = torch.nn.Conv2d(3, 8, 1)
    model.head = torch.nn.Conv2d(8, 5, 1)
    state_dict = {
        'backbone.weight': torch.zeros(4, 3, 1, 1),
        'extra.weight': torch.zeros(1),
        **{f'head.{k}': v for k, v in model.head.state_dict().items()},
    }
    check_checkpoint_shapes(model, state_dict, 'mine.pth')
    state_dict['head.bias'] = torch.zeros(17)
    with pytest.raises(
        CheckpointError,
        match=r'^checkpoint mine.pth does not fit the config: 1 entries of '
        r'another shape, e.g. head.bias \(17,\) in the checkpoint, \(5,\) in',
    ):
        check_checkpoint_shapes(model, state_dict, 'mine.pth')
