"""Accuracy of an artifact through the host's test loop
(litehrnet_mm.deploy.evaluate): the artifact stands in for backbone and
head, and batches of any size run on a static graph. That an fp32
artifact gives the PyTorch model's metric in the host's loop is tested
end to end through tools/deploy/accuracy.py
(tests/test_tools/test_accuracy.py)."""

import pytest
import torch
import torch.nn as nn

from litehrnet_mm.deploy.evaluate import (
    BOUNDS,
    RuntimeModel,
    artifact_in_host,
    ships,
)


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


def test_a_free_batch_axis_runs_the_whole_batch_at_once():
    calls = []

    class Free(FakeRuntime):
        input_shape = ('batch', 3, 4, 4)

        def __call__(self, images):
            calls.append(images.shape[0])
            return [2 * images + 1]

    x = torch.rand(5, 3, 4, 4)
    (got,) = RuntimeModel(Free())(x)
    assert torch.equal(got, 2 * x + 1) and calls == [5]


def test_the_shipping_bounds_are_the_readmes():
    # README, accuracy: "ships when it loses at most 0.01 AP and 1 mIoU".
    assert BOUNDS == {'mmpose': ('coco/AP', 0.01), 'mmseg': ('mIoU', 1.0)}


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


def test_inputs_are_checked_before_any_test_loop(tmp_path):
    from litehrnet_mm import CheckpointError, DeployError
    from litehrnet_mm.analysis.models import (
        PoseModel,
        build_from_config,
        load_config,
    )
    from litehrnet_mm.deploy.evaluate import check_inputs
    from litehrnet_mm.deploy.export import export
    from litehrnet_mm.models.backbones.litehrnet import LiteHRNet
    from tests.conftest import POSE_DEMO, SEG_DEMO
    from tests.test_deploy.test_exporters.phone import SHAPE, TINY, tiny_model

    cfg = load_config(str(POSE_DEMO))
    seg = str(tmp_path / 'seg.pth')
    torch.save(
        {'state_dict': build_from_config(str(SEG_DEMO)).model.state_dict()},
        seg,
    )
    with pytest.raises(CheckpointError, match='holds a segmentation model'):
        check_inputs(cfg, seg)
    artifact = str(tmp_path / 'seg.onnx')
    export(tiny_model(), 'onnxruntime', 'fp32', SHAPE, artifact,
           metadata={'task': 'seg'})  # fmt: skip
    with pytest.raises(DeployError, match='a seg artifact, for a pose conf'):
        check_inputs(cfg, None, [artifact])
    with pytest.raises(DeployError, match='threads=0; expected an int >= 1'):
        check_inputs(cfg, None, threads=0)
    # A pose artifact of another number of keypoints (5, the config's 17):
    # mmpose's flip test asserted deep inside the test loop.
    five = str(tmp_path / 'five.onnx')
    export(tiny_model(), 'onnxruntime', 'fp32', SHAPE, five,
           metadata={'task': 'pose'})  # fmt: skip
    with pytest.raises(
        DeployError,
        match='five.onnx: its model returns 5 channels, the config has 17 '
        'keypoints; expected an artifact exported from this config',
    ):
        check_inputs(cfg, None, [five])
    pose = str(tmp_path / 'pose.onnx')
    model = PoseModel(LiteHRNet(extra=TINY), num_keypoints=17)
    export(model, 'onnxruntime', 'fp32', SHAPE, pose,
           metadata={'task': 'pose'})  # fmt: skip
    check_inputs(cfg, None, [pose], threads=1)
