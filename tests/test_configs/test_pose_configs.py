"""Every pose config loads, builds, and runs at its input size; the dataset
part reads a folder in the COCO or MPII layout once ``data_root`` points
at it."""

from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, SHARED_DATA

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


# (keypoints, lr, auto_scale_lr.base_batch_size) by dataset: the lr of the
# official configs (mmpose's for the hand, which the official code lacks)
# and the batch it was trained with.
EXPECTED_RECIPE = {
    'coco-256x192': (17, 2e-3, 8 * 64),
    'coco-384x288': (17, 2e-3, 8 * 32),
    'mpii-256x256': (16, 2e-3, 8 * 32),
    'coco-wholebody-hand-256x256': (21, 5e-4, 8 * 32),
}


def _expected_recipe(name: str):
    return EXPECTED_RECIPE[name.split('210e_')[1][: -len('.py')]]


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
    assert (
        'td-hm_litehrnet-18_8xb32-210e_coco-wholebody-hand-256x256.py' in names
    )


@pytest.mark.parametrize(
    'path', [p for p in POSE_CONFIGS if p.stem.endswith('384x288')]
)
def test_384x288_pipelines_carry_their_codec(path: Path):
    """Every size-dependent step of every pipeline has the 384x288 codec,
    and the rest is the 256x192 base's, step for step."""
    cfg = Config.fromfile(str(path))
    base = Config.fromfile(
        str(REPO / 'configs/pose/_base_/td-hm_litehrnet_coco-256x192.py')
    )
    codec = cfg.codec
    assert codec.input_size == (288, 384)
    assert codec.heatmap_size == (72, 96)
    assert cfg.model.head.decoder == codec
    for split in ('train', 'val', 'test'):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        original = base[f'{split}_dataloader'].dataset.pipeline
        assert [t.type for t in pipeline] == [t.type for t in original]
        for step, before in zip(pipeline, original):
            if step.type == 'TopdownAffine':
                assert tuple(step.input_size) == (288, 384)
            elif step.type == 'GenerateTarget':
                assert step.encoder == codec
            else:
                assert step == before
        assert any(t.type == 'TopdownAffine' for t in pipeline)
    assert any(
        t.type == 'GenerateTarget'
        for t in cfg.train_dataloader.dataset.pipeline
    )


def test_auto_scale_lr_keeps_the_official_lr_at_the_official_batch():
    """--auto-scale-lr on 8 GPUs x the official images per GPU trains at
    the official 2e-3 (the runner scales lr by real batch / base)."""
    official_per_gpu = {
        'coco-256x192': 64,
        'coco-384x288': 32,
        'mpii-256x256': 32,
    }
    for path in POSE_CONFIGS:
        name = path.name.split('210e_')[1][: -len('.py')]
        if name not in official_per_gpu:
            continue
        cfg = Config.fromfile(str(path))
        real = 8 * official_per_gpu[name]
        lr = cfg.optim_wrapper.optimizer.lr
        scaled = lr * real / cfg.auto_scale_lr.base_batch_size
        assert scaled == pytest.approx(2e-3), path.name


@pytest.mark.parametrize('path', POSE_CONFIGS, ids=CONFIG_IDS)
def test_config_builds_and_runs(path: Path):
    from mmpose.registry import MODELS

    cfg = Config.fromfile(str(path))
    # The recipe: runtime from mmpose's base, the paper's optimizer and
    # schedule, our backbone by its scoped name.
    assert cfg.default_scope == 'mmpose'
    num_keypoints, lr, base_batch_size = _expected_recipe(path.name)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=lr)
    assert cfg.auto_scale_lr == dict(base_batch_size=base_batch_size)
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
    assert cfg.model.head.out_channels == num_keypoints
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


def test_hand_config_reads_a_coco_wholebody_file(tmp_path):
    """mmpose's CocoWholeBodyHandDataset through the hand config's training
    pipeline: one image with a left and a right hand (generated here)."""
    import json

    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / 'hands.jpg'), np.full((120, 160, 3), 90))
    rng = np.random.default_rng(0)

    def hand(x0):
        xy = rng.uniform((x0, 30), (x0 + 40, 90), size=(21, 2))
        return dict(
            box=[x0, 30, 40, 60],
            kpts=np.concatenate([xy, np.full((21, 1), 2)], 1).ravel(),
        )

    left, right = hand(10), hand(100)
    annotation = dict(
        id=1,
        image_id=1,
        category_id=1,
        iscrowd=0,
        segmentation=[],
        area=2400,
        bbox=[10, 30, 130, 60],
        lefthand_valid=True,
        lefthand_box=left['box'],
        lefthand_kpts=left['kpts'].tolist(),
        righthand_valid=True,
        righthand_box=right['box'],
        righthand_kpts=right['kpts'].tolist(),
    )
    (tmp_path / 'wholebody.json').write_text(
        json.dumps(
            dict(
                images=[
                    dict(id=1, file_name='hands.jpg', width=160, height=120)
                ],
                annotations=[annotation],
                categories=[dict(id=1, name='person')],
            )
        )
    )
    cfg = Config.fromfile(
        str(
            REPO / 'configs/pose/coco_wholebody_hand/'
            'td-hm_litehrnet-18_8xb32-210e_coco-wholebody-hand-256x256.py'
        )
    )
    assert cfg.train_dataloader.dataset.type == (
        'litehrnet_mm.CocoWholeBodyHandDataset'
    )
    cfg.train_dataloader.dataset.update(
        data_root=str(tmp_path),
        ann_file='wholebody.json',
        data_prefix=dict(img=''),
    )
    from mmpose.registry import DATASETS

    init_default_scope('mmpose')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 2  # both hands
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 256, 256)
    assert sample['data_samples'].gt_fields.heatmaps.shape == (21, 64, 64)
