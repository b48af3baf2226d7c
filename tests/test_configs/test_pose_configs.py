"""Every pose config loads, builds, and runs at its input size; the dataset
part reads a folder in the COCO or MPII layout once ``data_root`` points
at it."""

from pathlib import Path

import pytest
import torch

from ..conftest import REPO, SHARED_DATA

pytest.importorskip('mmpose')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

POSE_CONFIGS = sorted(
    p
    for p in (REPO / 'configs' / 'pose').glob('*/*.py')
    if p.parent.name != '_base_'
)
CONFIG_IDS = [p.name for p in POSE_CONFIGS]

# (backbone preset, head input channels) by config name.
EXPECTED_ARCH = {
    'td-hm_litehrnet-18_': ('18', 40),
    'td-hm_litehrnet-30_': ('30', 40),
    'td-hm_naive-litehrnet-18_': ('naive-18', 30),
    'td-hm_wider-naive-litehrnet-18_': ('wider-naive-18', 40),
}


def _expected_arch(name: str):
    for prefix, arch in EXPECTED_ARCH.items():
        if name.startswith(prefix):
            return arch
    raise AssertionError(f'no expected arch for {name}')


def test_every_variant_has_its_configs():
    names = set(CONFIG_IDS)
    for arch in ('litehrnet-18', 'litehrnet-30'):
        assert f'td-hm_{arch}_8xb64-210e_coco-256x192.py' in names
        assert f'td-hm_{arch}_8xb32-210e_coco-384x288.py' in names
        assert f'td-hm_{arch}_8xb64-210e_mpii-256x256.py' in names
    for arch in ('naive-litehrnet-18', 'wider-naive-litehrnet-18'):
        assert f'td-hm_{arch}_8xb64-210e_coco-256x192.py' in names
        assert f'td-hm_{arch}_8xb64-210e_mpii-256x256.py' in names


@pytest.mark.parametrize('path', POSE_CONFIGS, ids=CONFIG_IDS)
def test_config_builds_and_runs(path: Path):
    from mmpose.registry import MODELS

    cfg = Config.fromfile(str(path))
    # The recipe: runtime from mmpose's base, the paper's optimizer and
    # schedule, our backbone by its scoped name.
    assert cfg.default_scope == 'mmpose'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=2e-3)
    assert cfg.train_cfg.max_epochs == 210
    assert cfg.param_scheduler[1].milestones == [170, 200]
    assert cfg.model.backbone.type == 'litehrnet_mm.LiteHRNet'
    arch, in_channels = _expected_arch(path.name)
    assert cfg.model.backbone.arch == arch
    assert cfg.model.head.in_channels == in_channels
    batch = int(path.name.split('8xb')[1].split('-')[0])
    assert cfg.train_dataloader.batch_size == batch

    w, h = cfg.codec['input_size']
    assert path.stem.endswith(f'-{h}x{w}')
    for pipeline in (
        cfg.train_dataloader.dataset.pipeline,
        cfg.val_dataloader.dataset.pipeline,
    ):
        (affine,) = [t for t in pipeline if t['type'] == 'TopdownAffine']
        assert tuple(affine['input_size']) == (w, h)
    assert tuple(cfg.model.head.decoder['input_size']) == (w, h)

    init_default_scope('mmpose')
    model = MODELS.build(cfg.model).eval()
    assert model.backbone.out_channels == (in_channels,)
    num_keypoints = 16 if 'mpii' in path.name else 17
    with torch.no_grad():
        heatmaps = model(torch.rand(1, 3, h, w), None, mode='tensor')
    assert heatmaps.shape == (1, num_keypoints, h // 4, w // 4)
    assert torch.isfinite(heatmaps).all()


def _build_first_sample(cfg: Config, split: str) -> dict:
    from mmpose.registry import DATASETS

    init_default_scope('mmpose')
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    assert len(dataset) > 0
    return dataset[0]


needs_samples = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason='../shared/data (real samples) absent'
)


@needs_samples
@pytest.mark.parametrize('split', ['train', 'val'])
def test_coco_config_reads_a_coco_folder(split):
    cfg = Config.fromfile(
        str(
            REPO / 'configs/pose/coco/'
            'td-hm_litehrnet-18_8xb32-210e_coco-384x288.py'
        )
    )
    root = SHARED_DATA / 'coco-sample'
    dataset = cfg[f'{split}_dataloader'].dataset
    dataset.update(
        data_root=str(root),
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
    )
    if split == 'val':
        dataset.bbox_file = str(root / 'test_coco_det_AP_H_56.json')
    sample = _build_first_sample(cfg, split)
    assert sample['inputs'].shape == (3, 384, 288)
    if split == 'train':
        heatmaps = sample['data_samples'].gt_fields.heatmaps
        assert heatmaps.shape == (17, 96, 72)


@needs_samples
def test_mpii_config_reads_an_mpii_folder():
    cfg = Config.fromfile(
        str(
            REPO / 'configs/pose/mpii/'
            'td-hm_litehrnet-18_8xb64-210e_mpii-256x256.py'
        )
    )
    cfg.train_dataloader.dataset.update(
        data_root=str(SHARED_DATA / 'mpii-sample'),
        ann_file='test_mpii.json',
        data_prefix=dict(img=''),
    )
    sample = _build_first_sample(cfg, 'train')
    assert sample['inputs'].shape == (3, 256, 256)
    assert sample['data_samples'].gt_fields.heatmaps.shape == (16, 64, 64)
