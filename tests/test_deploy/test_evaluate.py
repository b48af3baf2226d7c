"""Accuracy of an artifact through the host's test loop
(litehrnet_mm.deploy.evaluate, tools/deploy/evaluate.py): the artifact
stands in for backbone and head, batches of any size run on a static
graph, and an fp32 artifact gives the PyTorch model's metric."""

import copy

import numpy as np
import pytest
import torch
import torch.nn as nn

from litehrnet_mm.deploy.evaluate import (
    RuntimeModel,
    artifact_in_host,
    ships,
)
from tests.conftest import REPO

SEG_DEMO = 'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py'


class FakeRuntime:
    """A static batch-2 'artifact' computing ``2 * x + 1`` per image."""

    input_shape = (2, 3, 4, 4)

    def __init__(self):
        self.batches = []

    def __call__(self, images):
        assert images.shape == self.input_shape
        self.batches.append(images.shape[0])
        return [2 * images + 1]


class Head(nn.Module):
    def forward(self, feats):
        raise AssertionError('the head must not run: the artifact did')

    def predict(self, feats):
        return self.forward(feats)


class Host(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Identity()
        self.neck = nn.Identity()
        self.head = Head()

    def predict(self, x):
        return self.head.predict(self.backbone(x))


def test_a_precision_ships_when_it_loses_at_most_the_bound():
    assert ships('fp32', -5.0, 1.0) == ''  # the reference is not judged
    assert ships('int8', -0.01, 0.01) == 'yes'
    assert ships('fp16', +0.3, 0.01) == 'yes'
    assert ships('int8', -0.0101, 0.01) == 'no'


def test_runtime_model_pads_and_splits_batches():
    runtime = FakeRuntime()
    x = torch.rand(5, 3, 4, 4)
    (got,) = RuntimeModel(runtime)(x)
    assert torch.equal(got, 2 * x + 1)
    assert runtime.batches == [2, 2, 2]


def test_artifact_stands_in_for_backbone_neck_and_head_then_leaves():
    host = Host()
    parts = (host.backbone, host.neck, host.head)
    x = torch.rand(3, 3, 4, 4)
    with artifact_in_host(host, FakeRuntime()):
        assert host.neck is None
        assert torch.equal(host.predict(x), 2 * x + 1)
    assert (host.backbone, host.neck, host.head) == parts
    assert 'forward' not in host.head.__dict__
    with pytest.raises(AssertionError, match='must not run'):
        host.predict(x)


def test_a_model_without_a_head_is_refused():
    model = nn.Module()
    model.backbone = nn.Identity()
    with pytest.raises(TypeError, match='decode_head'):
        with artifact_in_host(model, FakeRuntime()):
            pass


def test_fp32_artifact_gives_the_pytorch_metric(tmp_path):
    """The segmentation demo's config on a few synthetic images: the host's
    test loop gives the same mIoU with the OpenVINO fp32 artifact as with
    the PyTorch model."""
    pytest.importorskip('mmseg')
    pytest.importorskip('openvino')
    from mmengine.config import Config

    from litehrnet_mm.analysis.models import build_from_config
    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset
    from litehrnet_mm.deploy.evaluate import evaluate_artifacts
    from litehrnet_mm.deploy.export import export
    from litehrnet_mm.deploy.metadata import config_metadata

    root = tmp_path / 'data'
    generate_seg_dataset(str(root), 2, 6, size=(64, 64), seed=0)
    cfg = Config.fromfile(str(REPO / 'configs' / 'demo' / SEG_DEMO))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    model = build_from_config(cfg)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.model.state_dict()}, checkpoint)
    artifact = export(
        copy.deepcopy(model),
        'openvino',
        'fp32',
        (64, 64),
        str(tmp_path / 'seg.xml'),
        metadata=config_metadata(cfg),
        atol=1e-4,
    ).path
    metrics = evaluate_artifacts(cfg, checkpoint, [artifact], threads=1)
    eager, compiled = metrics['PyTorch'], metrics[artifact]
    assert set(eager) == set(compiled) and 'mIoU' in eager
    assert np.isclose(compiled['mIoU'], eager['mIoU'], atol=0.2)
