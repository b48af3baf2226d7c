"""Official (mmpose 0.x) checkpoints to the mmpose 1.x layout."""

import importlib.util

import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.convert import (
    convert_official_checkpoint,
    convert_official_state_dict,
)
from tests.conftest import REPO


def official_state_dict():
    """What an official Lite-HRNet-18 COCO checkpoint holds."""
    state = {
        f'backbone.{k}': v
        for k, v in LiteHRNet(arch='18').state_dict().items()
    }
    state['keypoint_head.final_layer.weight'] = torch.randn(17, 40, 1, 1)
    state['keypoint_head.final_layer.bias'] = torch.randn(17)
    return state


def test_renames_the_head_and_keeps_the_backbone():
    state = official_state_dict()
    converted = convert_official_state_dict(state)
    assert list(converted)[-2:] == [
        'head.final_layer.weight',
        'head.final_layer.bias',
    ]
    assert (
        converted['head.final_layer.bias']
        is (state['keypoint_head.final_layer.bias'])
    )
    backbone = {
        k[len('backbone.') :]: v
        for k, v in converted.items()
        if k.startswith('backbone.')
    }
    LiteHRNet(arch='18').load_state_dict(backbone, strict=True)


def test_loads_into_mmpose_heatmap_head():
    heads = pytest.importorskip('mmpose.models.heads')
    from mmengine.registry import DefaultScope

    # The head builds its loss through the registry of the current scope,
    # which another test in this worker may have left at mmseg.
    with DefaultScope.overwrite_default_scope('mmpose'):
        head = heads.HeatmapHead(
            in_channels=40, out_channels=17, deconv_out_channels=None
        )
    converted = convert_official_state_dict(official_state_dict())
    head.load_state_dict(
        {
            k[len('head.') :]: v
            for k, v in converted.items()
            if k.startswith('head.')
        },
        strict=True,
    )


def test_data_parallel_prefix_and_errors():
    state = {f'module.{k}': v for k, v in official_state_dict().items()}
    assert 'head.final_layer.bias' in convert_official_state_dict(state)
    with pytest.raises(ValueError, match='unexpected key'):
        convert_official_state_dict({'neck.conv.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='no backbone'):
        convert_official_state_dict({'keypoint_head.x': torch.zeros(1)})
    converted = convert_official_state_dict(official_state_dict())
    with pytest.raises(ValueError, match='needs no conversion'):
        convert_official_state_dict(converted)


def test_tool_writes_a_checkpoint(tmp_path, capsys):
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(
        {'state_dict': official_state_dict(), 'meta': {'epoch': 210}}, src
    )
    path = REPO / 'tools' / 'convert' / 'official_to_mmpose.py'
    spec = importlib.util.spec_from_file_location('official_to_mmpose', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(src), str(dst)])
    assert '2 head' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert 'head.final_layer.weight' in ckpt['state_dict']
    with pytest.raises(ValueError, match='no state dict'):
        torch.save([1, 2], src)
        convert_official_checkpoint(str(src), str(dst))


def test_the_official_file_is_never_written_over(tmp_path):
    from litehrnet_mm import CheckpointError
    from litehrnet_mm.convert import convert_official_checkpoint

    src = tmp_path / 'official.pth'
    torch.save({'state_dict': official_state_dict()}, src)
    saved = src.read_bytes()
    with pytest.raises(CheckpointError, match='is the checkpoint it reads'):
        convert_official_checkpoint(str(src), str(tmp_path / '.' / src.name))
    with pytest.raises(CheckpointError, match='official.pth is a file'):
        convert_official_checkpoint(str(src), str(src / 'x.pth'))
    assert src.read_bytes() == saved
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    with pytest.raises(CheckpointError, match='notes.pth cannot be read'):
        convert_official_checkpoint(str(text), str(tmp_path / 'out.pth'))
