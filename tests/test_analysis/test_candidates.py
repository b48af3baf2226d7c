"""analysis/candidates.py: every process builds the same candidate, the
port and ours compute the same function (so they share one accuracy), and
the outputs sit at heatmap scale."""

import pytest
import torch

from litehrnet_mm.analysis.candidates import (
    ExportablePool,
    benchmark_images,
    build,
    exportable_pools_,
    pose_candidates,
    seg_candidates,
)

SHAPE = (64, 64)  # the port needs sizes that divide by 32


def _outputs(candidate):
    with torch.no_grad():
        return build(candidate, SHAPE)(benchmark_images(2, SHAPE))


def test_models_are_labelled_by_what_they_are():
    port, ours, *peers = pose_candidates('18')
    assert port.label == 'Lite-HRNet-18 (mmpose port)'
    assert ours.label == 'Lite-HRNet-18 (litehrnet_mm)'
    # The same network with the same weights: one accuracy.
    assert port.ap == ours.ap == '64.2'
    assert [p.key for p in peers] == [
        'mobilenetv2',
        'shufflenetv2',
        'rtmpose-t',
        'hrnet-w32',
    ]
    assert pose_candidates('30', peers=False)[1].label == (
        'Lite-HRNet-30 (litehrnet_mm)'
    )
    assert len({c.key for c in pose_candidates('18')}) == 6


def test_every_build_is_the_same_function_at_heatmap_scale():
    ours = pose_candidates('18', peers=False)[1]
    (a,), (b,) = _outputs(ours), _outputs(ours)
    assert torch.equal(a, b)
    assert 0.5 < a.abs().max() < 3  # scaled to 1 on one image


def test_the_port_runs_our_weights_with_our_outputs():
    pytest.importorskip('mmpose')
    port, ours = pose_candidates('18', peers=False)
    (p,), (o,) = _outputs(port), _outputs(ours)
    torch.testing.assert_close(p, o, rtol=0, atol=1e-5)


def test_a_peer_builds_from_mmposes_config():
    pytest.importorskip('mmpose')
    (mobilenet,) = [c for c in pose_candidates() if c.key == 'mobilenetv2']
    (heatmaps,) = _outputs(mobilenet)
    assert heatmaps.shape == (2, 17, 16, 16)  # SimpleBaseline: 1/4
    assert 0.5 < heatmaps.abs().max() < 3


def test_seg_candidate_is_our_cityscapes_config():
    pytest.importorskip('mmseg')
    (seg,) = seg_candidates('18', peers=False)
    (logits,) = _outputs(seg)
    assert logits.shape[:2] == (2, 19)


def test_seg_peers_are_mmsegs_real_time_models_with_their_miou():
    pytest.importorskip('mmseg')
    ours, *peers = seg_candidates('18')
    assert ours.ap == ''  # no released Cityscapes weights of ours
    assert [(p.key, p.ap) for p in peers] == [
        ('bisenetv2', '73.21'),
        ('stdc1', '71.82'),
        ('mobilenetv3-lraspp', '69.54'),
        ('fast-scnn', '70.96'),
        ('hrnet-w18-small', '76.31'),
    ]
    (stdc1,) = [p for p in peers if p.key == 'stdc1']
    (logits,) = _outputs(stdc1)  # built from mmseg's own config
    assert logits.shape == (2, 19, 8, 8)  # STDC's head: 1/8


@pytest.mark.parametrize('size', [1, 3, 6, (None, 5), (4, 8)])
def test_exportable_pool_is_adaptive_pooling(size):
    """Fast-SCNN's pyramid pools a 16x32 map to 3x3 and 6x6, which torch's
    ONNX export refuses; the swapped pool computes the same and exports."""
    x = torch.rand(2, 5, 16, 32)
    expected = torch.nn.AdaptiveAvgPool2d(size)(x)
    torch.testing.assert_close(ExportablePool(size)(x), expected)
    model = exportable_pools_(
        torch.nn.Sequential(
            torch.nn.Conv2d(5, 5, 1), torch.nn.AdaptiveAvgPool2d(size)
        )
    )
    assert isinstance(model[1], ExportablePool)


def test_every_candidate_names_its_task_through_the_scaling():
    """The exporters pick Lite-HRNet's int8 options by the model's task;
    the benchmark's scaling wrapper must not hide it."""
    from litehrnet_mm.analysis.candidates import Scaled
    from litehrnet_mm.deploy.exporters import ExportJob

    port, ours = pose_candidates('18', peers=False)
    for candidate in (port, ours):
        model = build(candidate, SHAPE)
        assert model.task == 'pose'
        job = ExportJob(model, SHAPE, 1, 'int8', 'x.xml', '.')
        assert job.task == 'pose'
    assert Scaled(torch.nn.Identity()).task is None


def test_a_peer_gets_the_quantizers_defaults_not_our_design(tmp_path):
    """Peers are quantized as a user would (every conv int8), not with
    Lite-HRNet's choice of fp32 convs (depthwise, first, pooled)."""
    import onnx

    from litehrnet_mm.analysis.candidates import export_artifact

    peer = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8),
        torch.nn.Conv2d(8, 4, 1),
    ).eval()
    calib = [benchmark_images(1, (32, 32), seed=i).numpy() for i in range(2)]
    file = export_artifact(
        peer,
        'onnxruntime',
        'int8',
        (32, 32),
        str(tmp_path / 'p.onnx'),
        1,
        calib,
    )
    graph = onnx.load(file).graph
    produced_by = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == 'Conv']
    assert len(convs) == 3
    assert all(
        produced_by.get(n.input[1]) == 'DequantizeLinear' for n in convs
    )
