"""mmseg's own model bases with our backbone in place of theirs: mmseg's
``model.pretrained`` convention works (a local path loads, None is fine)."""

import warnings

import pytest
import torch

pytest.importorskip('mmseg')

from mmengine.config import Config  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from litehrnet_mm import LiteHRNet  # noqa: E402
from litehrnet_mm.analysis.weights import random_weights_  # noqa: E402

BACKBONE = dict(
    type='litehrnet_mm.LiteHRNet', arch='18', out_indices=(0, 1, 2, 3)
)


def ocrnet_with_our_backbone(tmp_path, pretrained):
    """mmseg's ocrnet_hr18 base, the backbone replaced by ours and the
    heads' in_channels fitted to it; everything else (pretrained, SyncBN,
    the two cascaded heads) is the base's."""
    config = tmp_path / 'ocrnet_litehrnet.py'
    config.write_text(
        "_base_ = ['mmseg::_base_/models/ocrnet_hr18.py']\n"
        f'model = dict(backbone=dict(_delete_=True, **{BACKBONE!r}))\n'
    )
    cfg = Config.fromfile(str(config))
    assert cfg.model.pretrained == 'open-mmlab://msra/hrnetv2_w18'
    assert cfg.model.type == 'CascadeEncoderDecoder'
    cfg.model.pretrained = pretrained
    # What every mmseg config that uses a model base sets: its crop size.
    cfg.model.data_preprocessor.size = (64, 64)
    kwargs = {k: v for k, v in BACKBONE.items() if k != 'type'}
    channels = list(LiteHRNet(**kwargs).out_channels)
    for head in cfg.model.decode_head:
        head.in_channels = channels
        if head.type == 'FCNHead':
            head.channels = sum(channels)
    return cfg


def _batch(seed):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (3, 64, 64), generator=gen))
        sample = SegDataSample(
            gt_sem_seg=PixelData(
                data=torch.randint(0, 19, (1, 64, 64), generator=gen)
            )
        )
        sample.set_metainfo(
            dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64))
        )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('pretrained', ['local', None])
def test_ocrnet_hr18_base_builds_and_trains(tmp_path, pretrained):
    from mmseg.registry import MODELS

    source = None
    if pretrained == 'local':
        source = random_weights_(
            LiteHRNet(arch='18', out_indices=(0, 1, 2, 3))
        )
        pretrained = str(tmp_path / 'backbone.pth')
        torch.save(source.state_dict(), pretrained)
    cfg = ocrnet_with_our_backbone(tmp_path, pretrained)
    init_default_scope('mmseg')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    notices = [w for w in caught if 'pretrained is deprecated' in str(w)]
    assert len(notices) == (0 if source is None else 1)
    model.init_weights()
    if source is not None:
        loaded = model.backbone.state_dict()
        for name, value in source.state_dict().items():
            torch.testing.assert_close(loaded[name], value, msg=name)
    optim_wrapper = build_optim_wrapper(
        model, dict(optimizer=dict(type='AdamW', lr=1e-3))
    )
    before = model.backbone.stem.conv1.conv.weight.detach().clone()
    model.train()
    for step in range(2):
        losses = model.train_step(_batch(step), optim_wrapper)
        assert set(losses) >= {'decode_0.loss_ce', 'decode_1.loss_ce'}
        assert all(torch.isfinite(v) for v in losses.values())
    assert not torch.equal(model.backbone.stem.conv1.conv.weight, before)
