"""The complexity rules on small modules counted by hand, the official
table, and the command-line tool."""

import importlib.util
import json
import textwrap

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from litehrnet_mm import LiteHRNet
from litehrnet_mm.analysis.complexity import (
    complexity,
    conv_macs,
    official_flops,
)
from litehrnet_mm.analysis.models import PoseModel, build_preset
from litehrnet_mm.models.backbones.arch import arch_to_extra
from litehrnet_mm.models.blocks.fusion import ResizeNearest
from tests.conftest import REPO

M = 2.0**20


def load_tool(relpath):
    """A tools/ script as a module (tools/ is not a package)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official(model, x):
    return official_flops(model, lambda: model(x)) * M


class Twice(nn.Module):
    """One ReLU called on two sizes: counted once, for its last call."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        big = self.relu(x)
        return self.relu(big[..., :2, :2])


@pytest.mark.parametrize(
    'module, shape, expected',
    [
        # MACs 3*9*8*16 and one add per output element for the bias.
        (nn.Conv2d(3, 8, 3, padding=1), (1, 3, 4, 4), 3 * 9 * 8 * 16 + 128),
        (nn.Conv2d(3, 8, 3, padding=1, bias=False), (1, 3, 4, 4), 3456),
        # Depthwise, stride 2: 9 MACs per output element, 8x2x2 outputs.
        (nn.Conv2d(8, 8, 3, 2, 1, groups=8, bias=False), (1, 8, 4, 4), 288),
        (nn.BatchNorm2d(8), (1, 8, 4, 4), 2 * 128),
        (nn.ReLU(), (1, 8, 4, 4), 128),
        (nn.AdaptiveAvgPool2d(1), (1, 8, 4, 4), 8 * 5 * 5),
        (nn.Upsample(scale_factor=2), (1, 8, 4, 4), 8 * 8),  # no channels
        (nn.Sigmoid(), (1, 8, 4, 4), 0),
        (Twice(), (1, 8, 4, 4), 8 * 2 * 2),
    ],
)
def test_torchstat_rules_by_hand(module, shape, expected):
    assert official(module, torch.rand(shape)) == expected


def test_resize_nearest_counts_like_upsample():
    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.resize = ResizeNearest()

        def forward(self, x):
            return self.resize(x, (7, 5))

    assert official(Up(), torch.rand(1, 8, 3, 3)) == 35


def test_functional_ops_count_zero_and_containers_are_not_leaves():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.seq = nn.Sequential(nn.ReLU())

        def forward(self, x):
            y = torch.cat([x, x], 1) * 2 + 1
            y = nn.functional.interpolate(y, scale_factor=2)
            return self.seq(nn.functional.adaptive_avg_pool2d(y, 1))

    assert official(Functional(), torch.rand(1, 4, 4, 4)) == 8


def test_conv_macs_count_every_call_like_flop_counter():
    conv = nn.Conv2d(4, 4, 3, padding=1)

    def twice():
        return conv(conv(torch.rand(1, 4, 5, 5)))

    assert conv_macs(conv, twice) * 1e6 == 2 * 4 * 4 * 9 * 25
    model = LiteHRNet(arch='18').eval()
    x = torch.rand(1, 3, 64, 48)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    assert conv_macs(model, lambda: model(x)) == pytest.approx(
        counter.get_total_flops() / 2 / 1e6
    )


# The official table (SPEC): params (M), FLOPs (2^20) per arch and size.
TABLE = [
    ('naive-18', (256, 192), 0.7, 194.8),
    ('wider-naive-18', (256, 192), 1.3, 311.1),
    ('18', (256, 192), 1.1, 205.2),
    ('18', (384, 288), 1.1, 461.6),
    ('30', (256, 192), 1.8, 319.2),
    ('30', (384, 288), 1.8, 717.8),
]


@pytest.mark.parametrize('arch, shape, params, flops', TABLE)
def test_reproduces_the_official_table(arch, shape, params, flops):
    report = complexity(build_preset(arch, 17), shape)
    # The paper gives one decimal; naive-18 has 0.76M (the paper: 0.7M).
    assert abs(report['params'] / 1e6 - params) < 0.07
    assert report['flops_official'] == pytest.approx(flops, rel=5e-3)
    assert report['macs_ours'] < report['macs']


def test_macs_match_the_port_computing_the_repeated_convs_twice():
    backbones = pytest.importorskip('mmpose.models.backbones')
    port_backbone = backbones.LiteHRNet(extra=arch_to_extra('18'))
    port_backbone.out_channels = (40,)
    port = PoseModel(port_backbone, 17).eval()
    ours = build_preset('18', 17)
    x = torch.rand(1, 3, 256, 192)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        port(x)
    port_macs = counter.get_total_flops() / 2 / 1e6
    report = complexity(ours, (256, 192))
    assert port_macs == pytest.approx(242.3, abs=0.05)
    assert report['macs'] == pytest.approx(port_macs)
    assert report['macs_ours'] == pytest.approx(198.6, abs=0.05)
    # The port calls f_i0 twice on the same input: torchstat counts it once.
    assert official(port, x) / M == pytest.approx(report['flops_official'])


POSE_CONFIG = """
default_scope = 'mmpose'
codec = dict(type='MSRAHeatmap', input_size=(192, 256),
             heatmap_size=(48, 64), sigma=2)
model = dict(
    type='TopdownPoseEstimator',
    backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18'),
    head=dict(type='HeatmapHead', in_channels=40, out_channels=17,
              deconv_out_channels=None,
              loss=dict(type='KeypointMSELoss', use_target_weight=True),
              decoder=codec))
"""


def test_tool_on_a_pose_config_prints_json_last(tmp_path, capsys):
    pytest.importorskip('mmpose')
    main = load_tool('tools/analysis/complexity.py').main

    config = tmp_path / 'pose.py'
    config.write_text(textwrap.dedent(POSE_CONFIG))
    main([str(config), '--json'])
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])
    assert set(report) >= {'params', 'flops_official', 'macs'}
    assert report['flops_official'] == pytest.approx(205.2, rel=5e-3)
    assert report['macs'] == pytest.approx(242.3, abs=0.05)
    assert '1x3x256x192' in lines[0]


def test_tool_with_arch_and_shape(capsys):
    main = load_tool('tools/analysis/complexity.py').main

    main(['--arch', '18', '--shape', '384', '288', '--json'])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report['flops_official'] == pytest.approx(461.6, rel=5e-3)


def test_conventions_are_an_argument():
    model = build_preset('18', 17)
    macs = complexity(model, (64, 48), conventions=('macs',))
    official = complexity(model, (64, 48), conventions=('official',))
    assert set(macs) == {'params', 'macs', 'macs_ours'}
    assert set(official) == {'params', 'flops_official'}
    both = complexity(model, (64, 48))
    assert both == {**macs, **official}
    for bad in ('macs', ('flops',), ()):
        with pytest.raises(ValueError, match='conventions'):
            complexity(model, (64, 48), conventions=bad)


SEG_CONFIG = (
    'configs/seg/cityscapes/fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py'
)


def test_seg_tool_counts_backbone_and_head_with_complexity():
    pytest.importorskip('mmseg')
    tool = load_tool('tools/analysis/seg_complexity.py')
    shape = (64, 128)
    row = tool.measure(str(REPO / SEG_CONFIG), shape)
    backbone = LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))
    expected = complexity(backbone, shape, conventions=('macs',))
    assert row['with_head'] is True
    assert row['params_backbone'] == pytest.approx(expected['params'] / 1e6)
    assert row['macs_backbone'] == pytest.approx(expected['macs_ours'] / 1e3)
    assert row['macs'] == pytest.approx(
        row['macs_backbone'] + row['macs_head']
    )
    # Without the iterative head, the FCN head reads the branches as they
    # are: 40 + 80 + 160 + 320 channels.
    without = tool.measure(str(REPO / SEG_CONFIG), shape, without_head=True)
    assert without['with_head'] is False
    assert without['macs_head'] > 3 * row['macs_head']


def test_conv_macs_count_transposed_convs_like_flop_counter():
    """A deconv head (SimpleBaseline's) is counted as torch counts it:
    each input value spread by its kernel over the output channels."""
    model = nn.Sequential(
        nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1, bias=False),
        nn.ConvTranspose2d(6, 6, 3, stride=1, padding=1, groups=3),
    )
    x = torch.rand(2, 8, 5, 7)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    assert conv_macs(model, lambda: model(x)) == pytest.approx(
        counter.get_total_flops() / 2 / 1e6
    )
    assert conv_macs(model, lambda: model(x)) * 1e6 == (
        8 * 6 * 16 * 2 * 5 * 7 + 6 * 2 * 9 * 2 * 10 * 14
    )


def _port_config(tmp_path):
    """POSE_CONFIG with mmpose's port as the backbone."""
    config = tmp_path / 'port.py'
    config.write_text(
        textwrap.dedent(POSE_CONFIG).replace(
            "type='litehrnet_mm.LiteHRNet', arch='18'",
            f"type='LiteHRNet', extra={arch_to_extra('18')!r}",
        )
    )
    return config


def test_tool_on_another_models_config_prints_its_conv_macs(tmp_path, capsys):
    """mmpose's port (the same network, computing f_i0 twice): one conv
    MACs figure, not the two of ours."""
    pytest.importorskip('mmpose')
    config = _port_config(tmp_path)
    load_tool('tools/analysis/complexity.py').main([str(config)])
    out = capsys.readouterr().out
    assert '  conv MACs          242.3M  (every conv call' in out
    assert 'ours' not in out


def test_tool_names_a_size_the_model_does_not_take(tmp_path):
    pytest.importorskip('mmpose')
    from litehrnet_mm import ConfigError

    config = _port_config(tmp_path)
    main = load_tool('tools/analysis/complexity.py').main
    with pytest.raises(ConfigError, match='does not run on an input of'):
        main([str(config), '--shape', '97', '65'])


def test_tool_names_another_hosts_config(tmp_path):
    from litehrnet_mm import ConfigError

    config = tmp_path / 'det.py'
    config.write_text("default_scope = 'mmdet'\nmodel = dict(type='X')\n")
    main = load_tool('tools/analysis/complexity.py').main
    with pytest.raises(ConfigError, match="default_scope='mmdet'; expected"):
        main([str(config)])


def test_seg_tool_refuses_another_backbone_and_reads_the_built_one(
    tmp_path,
):
    pytest.importorskip('mmseg')
    from litehrnet_mm import ConfigError

    tool = load_tool('tools/analysis/seg_complexity.py')
    other = tmp_path / 'hrnet.py'
    other.write_text(
        f"_base_ = ['{REPO / SEG_CONFIG}']\n"
        "model = dict(backbone=dict(_delete_=True, type='HRNet'))\n"
    )
    with pytest.raises(ConfigError, match="backbone 'HRNet'; expected"):
        tool.main([str(other)])
    # arch and with_head left to the backbone's defaults: read from it.
    bare = tmp_path / 'bare.py'
    bare.write_text(
        f"_base_ = ['{REPO / SEG_CONFIG}']\n"
        'model = dict(backbone=dict(_delete_=True, '
        "type='litehrnet_mm.LiteHRNet', out_indices=(0, 1, 2, 3)))\n"
    )
    row = tool.measure(str(bare), (64, 64))
    assert (row['arch'], row['with_head']) == ('18', True)
