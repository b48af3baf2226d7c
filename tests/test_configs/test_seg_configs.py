"""Every segmentation config loads with the paper's recipe, builds, and
runs forward (at a reduced size; the configured crop is checked in the
config itself); the Cityscapes config reads a folder in that layout."""

from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, SHARED_DATA

pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

SEG_CONFIGS = sorted(
    p
    for p in (REPO / 'configs' / 'seg').glob('*/*.py')
    if p.parent.name != '_base_'
)
CONFIG_IDS = [p.name for p in SEG_CONFIGS]
# dataset: (crop (h, w), classes, RandomResize scale)
DATASETS = {
    'cityscapes': ((512, 1024), 19, (2048, 1024)),
    'ade20k': ((512, 512), 150, (2048, 512)),
}


def test_every_variant_has_its_configs():
    names = {(p.parent.name, p.name) for p in SEG_CONFIGS}
    for arch in ('18', '30'):
        assert (
            'cityscapes',
            f'fcn_litehrnet-{arch}_4xb4-160k_cityscapes-512x1024.py',
        ) in names
        assert (
            'ade20k',
            f'fcn_litehrnet-{arch}_4xb4-160k_ade20k-512x512.py',
        ) in names
    assert len(names) == 4


def _one(items, type_):
    (item,) = [t for t in items if t['type'] == type_]
    return item


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=CONFIG_IDS)
def test_config_recipe(path: Path):
    cfg = Config.fromfile(str(path))
    crop, num_classes, scale = DATASETS[path.parent.name]
    assert cfg.default_scope == 'mmseg'
    assert path.stem.endswith(f'-{crop[0]}x{crop[1]}')

    # From scratch: no pretrained weights anywhere.
    assert cfg.load_from is None
    assert 'pretrained' not in cfg.model
    assert cfg.model.backbone.get('init_cfg') is None

    # SGD lr 0.01, poly, weight decay 5e-4, 160k iterations.
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4
    )
    (poly,) = cfg.param_scheduler
    assert poly.type == 'PolyLR' and poly.end == 160000
    assert cfg.train_cfg.max_iters == 160000
    # Batch 16 = 4 GPUs x 4 images, as the name says.
    assert '_4xb4-' in path.name and cfg.train_dataloader.batch_size == 4

    # Random scale, crop and flip at the configured crop size.
    train = cfg.train_dataloader.dataset.pipeline
    resize = _one(train, 'RandomResize')
    assert tuple(resize.scale) == scale
    assert tuple(resize.ratio_range) == (0.5, 2.0)
    assert tuple(_one(train, 'RandomCrop').crop_size) == crop
    assert _one(train, 'RandomFlip').prob == 0.5
    assert tuple(cfg.model.data_preprocessor.size) == crop

    # Checked dataset classes of our scope.
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        assert loader.dataset.type.startswith('litehrnet_mm.')

    backbone, head = cfg.model.backbone, cfg.model.decode_head
    assert backbone.type == 'litehrnet_mm.LiteHRNet'
    assert backbone.arch == path.name.split('litehrnet-')[1][:2]
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert backbone.norm_cfg.type == 'SyncBN'
    assert head.norm_cfg.type == 'SyncBN'
    assert head.type == 'FCNHead'
    assert head.input_transform == 'resize_concat'
    assert tuple(head.in_index) == (0, 1, 2, 3)
    assert head.kernel_size == 1 and head.num_convs == 1
    assert head.concat_input is False
    assert head.channels == sum(head.in_channels)
    assert head.num_classes == num_classes


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=CONFIG_IDS)
def test_config_builds_and_runs(path: Path):
    from mmseg.registry import MODELS

    cfg = Config.fromfile(str(path))
    _, num_classes, _ = DATASETS[path.parent.name]
    init_default_scope('mmseg')
    # What mmengine's runner does on a single process: SyncBN -> BN.
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    assert not any(
        isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules()
    )
    assert tuple(model.backbone.out_channels) == tuple(
        cfg.model.decode_head.in_channels
    )
    model.init_weights()
    torch.manual_seed(0)
    # A reduced input (not a multiple of 32) for speed.
    x = torch.rand(1, 3, 72, 136)
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(x)
        logits = model(x, mode='tensor')
    assert [tuple(f.shape[1:]) for f in feats] == [
        (c, h, w)
        for c, (h, w) in zip(
            model.backbone.out_channels,
            [(18, 34), (9, 17), (5, 9), (3, 5)],
        )
    ]
    assert logits.shape == (1, num_classes, 18, 34)
    assert torch.isfinite(logits).all()


def test_one_training_step_on_cpu():
    """SyncBN reverted to BN trains on one CPU process: a loss, gradients
    in the backbone's first conv, and updated BN statistics."""
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    path = REPO / 'configs/seg/cityscapes'
    cfg = Config.fromfile(
        str(path / 'fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py')
    )
    init_default_scope('mmseg')
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    model.train()
    torch.manual_seed(0)
    inputs = torch.rand(2, 3, 64, 128)
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 19, (1, 64, 128), dtype=torch.long)
        )
        sample.set_metainfo(dict(img_shape=(64, 128), pad_shape=(64, 128)))
        samples.append(sample)
    bn = model.backbone.stem.conv1.bn
    mean_before = bn.running_mean.clone()
    losses = model(inputs, samples, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.backbone.stem.conv1.conv.weight.grad.abs().sum() > 0
    assert not torch.equal(bn.running_mean, mean_before)


def test_cityscapes_config_reads_a_cityscapes_folder():
    from mmseg.registry import DATASETS

    sample = SHARED_DATA / 'cityscapes-sample'
    if not sample.is_dir():
        pytest.skip(f'{sample} not present')
    cfg = Config.fromfile(
        str(
            REPO
            / 'configs/seg/cityscapes'
            / 'fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py'
        )
    )
    init_default_scope('mmseg')
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = str(sample)
    dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 1
    item = dataset[0]
    # The test pipeline rescales the 256x128 frame to the 2048x1024 scale.
    assert tuple(item['inputs'].shape) == (3, 1024, 2048)
    labels = item['data_samples'].gt_sem_seg.data
    assert labels.shape[-2:] == (128, 256)
    assert set(labels.unique().tolist()) <= set(range(19)) | {255}


def test_cityscapes_config_names_a_missing_folder(tmp_path):
    from mmseg.registry import DATASETS

    cfg = Config.fromfile(
        str(
            REPO
            / 'configs/seg/cityscapes'
            / 'fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py'
        )
    )
    init_default_scope('mmseg')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = str(tmp_path / 'nowhere')
    with pytest.raises(Exception, match=str(tmp_path / 'nowhere')):
        DATASETS.build(dataset_cfg)
