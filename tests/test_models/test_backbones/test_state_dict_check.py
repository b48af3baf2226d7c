"""What the backbone does with a state dict that does not fit: strict=True
raises one clear error; strict=False loads what fits and names the rest;
another preset is refused either way, naming the preset."""

import warnings

import pytest
import torch

from litehrnet_mm import CheckpointError, LiteHRNet
from litehrnet_mm.analysis.weights import random_weights_

STEM = 'stem.conv1.conv.weight'


class Wrapper(torch.nn.Module):
    """A pose-like model: the backbone under ``backbone.``."""

    def __init__(self, **backbone):
        super().__init__()
        self.backbone = LiteHRNet(**backbone)
        self.head = torch.nn.Conv2d(40, 17, 1)


def reported(model):
    """The keys torch reports missing when none is given (BN fills in a
    missing batch counter)."""
    return {
        k for k in model.state_dict() if not k.endswith('num_batches_tracked')
    }


def rgb_state_dict():
    return random_weights_(LiteHRNet(arch='18')).state_dict()


def assert_loaded_but(model, state_dict, left_out, prefix=''):
    own = model.state_dict()
    for key, value in state_dict.items():
        if key.startswith(prefix) and key[len(prefix) :] not in left_out:
            assert torch.equal(own[key[len(prefix) :]], value), key


def test_strict_false_loads_all_but_the_stem_and_names_it():
    source = rgb_state_dict()
    model = LiteHRNet(arch='18', in_channels=4)
    initial = model.state_dict()[STEM].clone()
    with pytest.warns(UserWarning) as record:
        result = model.load_state_dict(source, strict=False)
    (message,) = [
        str(w.message) for w in record if 'loaded partly' in str(w.message)
    ]
    assert f'{STEM}: checkpoint (32, 3, 3, 3) vs model (32, 4, 3, 3)' in (
        message
    )
    assert 'strict=False' in message
    assert result.missing_keys == [STEM]
    assert result.unexpected_keys == []
    assert torch.equal(model.state_dict()[STEM], initial)
    assert_loaded_but(model, source, {STEM})
    assert STEM in source  # the caller's state dict is left alone


def test_strict_true_raises_the_clear_error_and_loads_nothing():
    model = LiteHRNet(arch='18', in_channels=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        model.load_state_dict(rgb_state_dict())
    message = str(info.value)
    assert message.startswith('the state dict does not fit')
    assert f'1 with other shapes ({STEM}: checkpoint (32, 3, 3, 3)' in message
    assert 'With strict=False what fits is loaded' in message
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('strict', [False, True])
def test_through_mmengine_load_checkpoint(tmp_path, strict):
    from mmengine.runner import load_checkpoint

    source = Wrapper(arch='18')
    random_weights_(source)
    path = tmp_path / 'rgb.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {}}, path)
    model = Wrapper(arch='18', in_channels=4)
    if strict:
        # mmengine runs the backbone's pre-hook with strict=True whatever
        # its caller passed: the hook leaves the stem out and names the
        # file and the shapes; mmengine's own strict then refuses the load
        # on the key left out.
        with pytest.warns(UserWarning, match=f'checkpoint {path} does not'):
            with pytest.raises(
                RuntimeError, match=f'missing keys .*: backbone.{STEM}'
            ):
                load_checkpoint(model, str(path), strict=True)
        return
    with pytest.warns(UserWarning, match=f'backbone.{STEM}: checkpoint'):
        load_checkpoint(model, str(path), strict=False)
    assert_loaded_but(model, source.state_dict(), {f'backbone.{STEM}'})


def test_pretrained_init_cfg_loads_what_fits(tmp_path):
    """mmengine's Pretrained init loads with strict=False."""
    state = {f'backbone.{k}': v for k, v in rgb_state_dict().items()}
    path = tmp_path / 'rgb.pth'
    torch.save({'state_dict': state}, path)
    model = LiteHRNet(
        arch='18',
        in_channels=4,
        init_cfg=dict(
            type='Pretrained', checkpoint=str(path), prefix='backbone.'
        ),
    )
    with pytest.warns(UserWarning, match=STEM):
        model.init_weights()
    assert_loaded_but(model, state, {STEM}, prefix='backbone.')


def test_a_partial_checkpoint_loads_under_strict_false():
    stem_only = {k: v for k, v in rgb_state_dict().items() if 'stem' in k}
    model = LiteHRNet(arch='18')
    with pytest.warns(UserWarning, match='missing'):
        result = model.load_state_dict(stem_only, strict=False)
    assert set(result.missing_keys) == reported(model) - set(stem_only)
    assert_loaded_but(model, stem_only, set())
    with pytest.raises(CheckpointError, match='missing'):
        model.load_state_dict(stem_only)


@pytest.mark.parametrize(
    'saved, loaded, hint',
    [
        (
            dict(arch='30'),
            dict(arch='18'),
            "It fits arch='30', with_head=True",
        ),
        (
            dict(arch='18'),
            dict(arch='18', with_head=False),
            "It fits arch='18', with_head=True",
        ),
        (
            dict(arch='wider-naive-18', in_channels=1),
            dict(arch='18', in_channels=1),
            "It has the layers of arch='naive-18', with_head=True",
        ),
    ],
)
def test_another_preset_is_refused_whatever_strict_says(saved, loaded, hint):
    state_dict = LiteHRNet(**saved).state_dict()
    for strict in (False, True):
        with pytest.raises(CheckpointError, match=hint):
            LiteHRNet(**loaded).load_state_dict(state_dict, strict=strict)


def test_nothing_of_ours_under_a_nested_prefix_is_left_to_torch():
    """A model's load that holds nothing for its backbone (a head-only
    checkpoint, say): torch reports the missing keys as ever; no error or
    warning of ours."""
    model = Wrapper(arch='18')
    head_only = {f'head.{k}': v for k, v in model.head.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        result = model.load_state_dict(head_only, strict=False)
    assert {f'backbone.{k}' for k in reported(model.backbone)} <= set(
        result.missing_keys
    )


@pytest.mark.parametrize('strict', [False, True])
def test_a_whole_model_s_state_dict_into_the_backbone_names_the_prefix(
    strict,
):
    """Nothing would load: the names carry the model's prefix."""
    model = LiteHRNet(arch='18')
    for prefix in ('backbone.', 'module.backbone.'):
        other = {f'{prefix}{k}': v for k, v in model.state_dict().items()}
        with pytest.raises(
            CheckpointError, match=f"holds a Lite-HRNet under '{prefix}'"
        ) as info:
            model.load_state_dict(other, strict=strict)
        assert f"prefix='{prefix}'" in str(info.value)


@pytest.mark.parametrize('strict', [False, True])
def test_weights_of_another_network_are_refused(strict):
    model = LiteHRNet(arch='18')
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3)).state_dict()
    with pytest.raises(CheckpointError, match='holds no tensor of this'):
        model.load_state_dict(other, strict=strict)
    with pytest.raises(CheckpointError, match='no entries'):
        model.load_state_dict({}, strict=strict)


@pytest.mark.parametrize(
    'foreign',
    [
        # HRNet names its layers transition1, stage2, like ours.
        {
            'backbone.stage2.0.branches.0.0.conv1.weight': torch.zeros(1),
            'backbone.transition1.0.0.weight': torch.zeros(1),
        },
        # ResNet's.
        {
            'backbone.conv1.weight': torch.zeros(64, 3, 7, 7),
            'backbone.layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1),
        },
    ],
)
def test_another_network_s_weights_under_the_prefix_are_refused(foreign):
    """Under the backbone's prefix of a model (load_from), nothing of them
    would load: refused whatever strict says."""
    model = Wrapper(arch='18')
    for strict in (False, True):
        with pytest.raises(
            CheckpointError, match="none of its 2 tensors under 'backbone.'"
        ):
            model.load_state_dict(foreign, strict=strict)


def deploy_form_state_dict():
    model = LiteHRNet(arch='18').eval()
    model.switch_to_deploy()
    return model.state_dict()


@pytest.mark.parametrize('strict', [False, True])
def test_a_deploy_form_checkpoint_into_the_training_form(strict):
    """It shares 3 names with the training form: refused, not loaded in
    part; a backbone switched first loads it."""
    state_dict = deploy_form_state_dict()
    with pytest.raises(CheckpointError, match='holds the deploy form'):
        LiteHRNet(arch='18').load_state_dict(state_dict, strict=strict)
    whole = {f'backbone.{k}': v for k, v in state_dict.items()}
    with pytest.raises(CheckpointError, match='backbone.stem.conv1.0.weight'):
        Wrapper(arch='18').load_state_dict(whole, strict=strict)
    switched = LiteHRNet(arch='18').eval()
    switched.switch_to_deploy()
    switched.load_state_dict(state_dict, strict=strict)
    for key, value in switched.state_dict().items():
        assert torch.equal(value, state_dict[key]), key


def test_strict_true_refuses_an_extra_entry_before_loading_anything():
    model = LiteHRNet(arch='18')
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state_dict = dict(random_weights_(LiteHRNet(arch='18')).state_dict())
    state_dict['extra.key'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r'1 unexpected \(extra.key\)'):
        model.load_state_dict(state_dict)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    with pytest.warns(UserWarning, match='extra.key'):
        result = model.load_state_dict(state_dict, strict=False)
    assert result.unexpected_keys == ['extra.key']


def test_weights_in_an_entry_mmengine_does_not_read(tmp_path):
    """``{'model': state_dict}`` (torchvision's and others' form) as the
    backbone's pretrained weights: mmengine loads
    ``checkpoint['state_dict']``, else the whole dict, so nothing of the
    weights; refused, naming the entry."""
    path = tmp_path / 'nested.pth'
    torch.save({'model': LiteHRNet(arch='18').state_dict()}, path)
    pretrained = LiteHRNet(
        arch='18', init_cfg=dict(type='Pretrained', checkpoint=str(path))
    )
    with pytest.raises(CheckpointError, match="in the entry 'model'"):
        pretrained.init_weights()
    with pytest.raises(CheckpointError, match="in the entry 'model'"):
        LiteHRNet(arch='18').load_state_dict(
            {'model': LiteHRNet(arch='18').state_dict()}, strict=False
        )


class SegWrapper(torch.nn.Module):
    """A segmentation-like model: the backbone and a ``decode_head``."""

    def __init__(self):
        super().__init__()
        self.backbone = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))
        self.decode_head = torch.nn.Conv2d(320, 19, 1)


class Nested(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model


@pytest.mark.parametrize('strict', [False, True])
@pytest.mark.parametrize(
    'saved, loaded, task, head',
    [
        (Wrapper, SegWrapper, 'pose', 'head'),
        (SegWrapper, Wrapper, 'segmentation', 'decode_head'),
    ],
)
def test_a_model_of_the_other_task_is_refused(
    tmp_path, strict, saved, loaded, task, head
):
    """A pose model's checkpoint into a segmentation model (mim test, the
    inferencers, load_from), or the reverse: mmengine loaded the backbone
    and warned about the heads, and the test scored an untrained head."""
    from mmengine.runner import load_checkpoint

    path = tmp_path / 'other.pth'
    torch.save({'state_dict': random_weights_(saved()).state_dict()}, path)
    model = loaded()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(model, str(path), strict=strict)
    assert str(info.value).startswith(
        f'checkpoint {path} holds a {task} model ({head}.* weights, e.g. '
        f'{head}.weight), but the model around this LiteHRNet'
    )
    assert f'has no {head} (a model of another task)' in str(info.value)
    assert "prefix='backbone.') on the backbone" in str(info.value)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # nothing loaded
    # torch's own load, one level down, names the nested prefix.
    nested = Nested(loaded())
    state_dict = {
        f'model.{k}': v
        for k, v in random_weights_(saved()).state_dict().items()
    }
    with pytest.raises(CheckpointError, match=f'model.{head}.\\* weights'):
        nested.load_state_dict(state_dict, strict=False)


def test_a_model_of_the_same_task_loads(tmp_path):
    from mmengine.runner import load_checkpoint

    path = tmp_path / 'seg.pth'
    source = random_weights_(SegWrapper())
    torch.save({'state_dict': source.state_dict()}, path)
    model = SegWrapper()
    load_checkpoint(model, str(path), strict=True)
    assert_loaded_but(model, source.state_dict(), set())
