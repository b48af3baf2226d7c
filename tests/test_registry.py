"""The litehrnet_mm scope resolves from mmpose and mmseg configs alone."""

import textwrap

import pytest
import torch

from tests.test_models.hosts import topdown_pose_model


def test_scope_and_parent():
    from mmengine.registry import MODELS as ROOT

    from litehrnet_mm.registry import MODELS

    assert MODELS.scope == 'litehrnet_mm'
    assert MODELS.parent is ROOT
    assert ROOT._children['litehrnet_mm'] is MODELS


def test_datasets_scope_and_parent():
    from mmengine.registry import DATASETS as ROOT

    from litehrnet_mm.registry import DATASETS

    assert DATASETS.scope == 'litehrnet_mm' and DATASETS.parent is ROOT
    assert ROOT._children['litehrnet_mm'] is DATASETS


@pytest.mark.slow
@pytest.mark.parametrize(
    'host, dataset',
    [('mmpose', 'CocoDataset'), ('mmseg', 'CityscapesDataset')],
)
def test_host_config_names_our_checked_dataset(host, dataset, run_python):
    """In a fresh process, as a config's ``type='litehrnet_mm.<name>'``
    finds it: the registry imports the module that registers it."""
    pytest.importorskip(host)
    code = textwrap.dedent(f"""
        import sys
        from mmengine.registry import DATASETS, init_default_scope
        init_default_scope('{host}')
        assert 'litehrnet_mm' not in sys.modules
        cls = DATASETS.get('litehrnet_mm.{dataset}')
        print(cls.__module__, cls.__name__)
    """)
    out = run_python(code)
    kind = 'pose' if host == 'mmpose' else 'seg'
    assert out.split() == [f'litehrnet_mm.datasets.{kind}', dataset]


@pytest.mark.slow
@pytest.mark.parametrize('host', ['mmpose', 'mmseg'])
def test_host_registry_builds_our_backbone_next_to_its_own(host, run_python):
    """In a fresh process: the host's registry, our type name, no import of
    litehrnet_mm and no custom_imports."""
    pytest.importorskip(host)
    code = textwrap.dedent(f"""
        import sys
        from {host}.registry import MODELS
        from {host}.utils import register_all_modules
        register_all_modules()
        assert 'litehrnet_mm' not in sys.modules
        ours = MODELS.build(dict(type='litehrnet_mm.LiteHRNet', arch='30',
                                 out_indices=(0, 1, 2, 3)))
        print(type(ours).__module__, ours.out_channels)
        if '{host}' == 'mmpose':
            theirs = MODELS.build(dict(type='LiteHRNet', extra=ours.extra))
            print(type(theirs).__module__)
    """)
    out = run_python(code)
    lines = out.split('\n')
    assert lines[0].startswith('litehrnet_mm.models.backbones.litehrnet')
    assert lines[0].endswith('(40, 40, 80, 160)')
    if host == 'mmpose':
        assert lines[1] == 'mmpose.models.backbones.litehrnet'


def test_mmpose_topdown_model_from_config():
    model = topdown_pose_model(arch='18').eval()
    with torch.no_grad():
        heatmaps = model(torch.rand(1, 3, 256, 192), None, mode='tensor')
    assert heatmaps.shape == (1, 17, 64, 48)


def test_mmseg_encoder_decoder_from_config():
    pytest.importorskip('mmseg')
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules()
    model = MODELS.build(
        dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(
                type='litehrnet_mm.LiteHRNet',
                arch='18',
                with_head=False,
                out_indices=(0, 1, 2, 3),
            ),
            decode_head=dict(
                type='FCNHead',
                in_channels=[40, 80, 160, 320],
                in_index=(0, 1, 2, 3),
                channels=600,
                input_transform='resize_concat',
                kernel_size=1,
                num_convs=1,
                concat_input=False,
                num_classes=19,
                loss_decode=dict(type='CrossEntropyLoss'),
            ),
        )
    ).eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 128, 256), None, mode='tensor')
    assert logits.shape == (1, 19, 32, 64)


@pytest.mark.slow
def test_import_needs_neither_mmpose_nor_mmseg(run_python):
    code = textwrap.dedent("""
        import sys

        class Block:
            blocked = ('mmpose', 'mmseg', 'mmdet')
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in self.blocked:
                    raise ImportError(f'{name} is blocked for this test')

        sys.meta_path.insert(0, Block())
        import torch
        import litehrnet_mm
        from litehrnet_mm.registry import MODELS
        model = MODELS.build(dict(type='LiteHRNet', arch='naive-18')).eval()
        out = litehrnet_mm.LiteHRNet()(torch.rand(1, 3, 64, 64))
        assert not any(m.split('.')[0] in Block.blocked for m in sys.modules)
        print('ok', tuple(out[0].shape))
    """)
    out = run_python(code)
    assert out.strip() == 'ok (1, 40, 16, 16)'
