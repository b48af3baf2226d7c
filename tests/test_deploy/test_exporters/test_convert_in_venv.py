"""The script that runs in the converters venv
(deploy/exporters/convert_in_venv.py), in this process: it imports only
torch and numpy until a converter runs, so its request handling and its
rewrite of the program are tested here on a stand-in converter (the real
conversions: test_executorch.py, test_litert.py)."""

import io
import json

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from litehrnet_mm.deploy.exporters import convert_in_venv as script


class Split(nn.Module):
    def forward(self, x):
        a, b = torch.split(x, [1, 3], dim=1)
        return b * 2 - a


def targets(program):
    return {
        str(n.target) for n in program.graph.nodes if n.op == 'call_function'
    }


def test_splits_become_slices_with_the_same_values():
    x = torch.rand(2, 4, 5, 3)
    program = torch.export.export(Split(), (x,)).run_decompositions({})
    assert 'aten.split_with_sizes.default' in targets(program)
    sliced = script._slices_for_splits(program)
    assert 'aten.split_with_sizes.default' not in targets(sliced)
    assert 'aten.slice.Tensor' in targets(sliced)
    assert torch.equal(sliced.module()(x), Split()(x))


def test_the_designs_pooled_modules_are_matched_as_whole_names():
    pooled = ['crw', 'spatial_weighting']
    for name in (
        'model.backbone.stage0.0.layers.0.crw.0.0.weight',
        'x/Sequential_spatial_weighting/Sequential_1/Conv2d_0;',
    ):
        assert script.design_fp32(name, False, False, pooled)
    for name in ('model.head.final_layer.weight', 'a/crwx/b;', 'spatial'):
        assert not script.design_fp32(name, False, False, pooled)
    assert script.design_fp32('any', True, False, pooled)
    assert script.design_fp32('any', False, True, pooled)


class Weighted(nn.Module):
    """The conv kinds of Lite-HRNet's int8 design: the conv on the image,
    a depthwise conv, a dense conv, a weighting's conv on a pooled map."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU())
        self.crw = nn.Sequential(nn.Conv2d(8, 8, 1))

    def forward(self, x):
        y = self.pw(self.dw(self.stem(x)))
        return y * torch.sigmoid(self.crw(F.adaptive_avg_pool2d(y, 1)))


def test_the_design_quantizes_the_dense_convs_off_pooled_maps():
    """ExecuTorch's int8 (as ncnn's, LiteRT's, ONNX Runtime's) quantizes
    only the convs that are not depthwise, on the image or on pooled maps;
    each is found by its module's path."""
    x = torch.rand(1, 3, 8, 6)
    module = torch.export.export(Weighted().eval(), (x,)).module()
    convs = script.design_convs(module, ['crw'])
    assert [n.meta['nn_module_stack'] for n in convs] == [
        n.meta['nn_module_stack']
        for n in module.graph.nodes
        if n.target == torch.ops.aten.conv2d.default
        and list(n.meta['nn_module_stack'].values())[-1][0] == 'pw.0'
    ]
    assert len(convs) == 1
    assert len(script.design_convs(module, [])) == 2  # and the weighting's


class Nested(nn.Module):
    """The convs of a model's backbone: module paths of several names."""

    def __init__(self):
        super().__init__()
        self.backbone = Weighted()

    def forward(self, x):
        return self.backbone(x)


def test_a_conv_is_matched_by_its_own_module_s_path():
    """'backbone.crw.0', not the outermost 'backbone'."""
    x = torch.rand(1, 3, 8, 6)
    module = torch.export.export(Nested().eval(), (x,)).module()
    assert len(script.design_convs(module, ['crw'])) == 1
    assert len(script.design_convs(module, ['backbone'])) == 0


torch.fx.wrap('dequantize_per_tensor')


def dequantize_per_tensor(x):
    return x * 0.5


class SharedDequantize(nn.Module):
    def forward(self, x):
        y = dequantize_per_tensor(x)
        return y[:, :2] + 1, y[:, 2:] * 2, y


def test_each_dequantize_gets_one_user():
    """A dequantize shared by several ops is copied, one per op: XNNPACK's
    lowering (ExecuTorch 1.5.1) mislays a shared one whose users fall in
    and out of a partition, and the runtime refuses the .pte."""
    module = torch.fx.symbolic_trace(SharedDequantize())
    x = torch.rand(1, 4, 3, 3)
    expected = module(x)
    script.one_dequantize_per_user(module)
    dequantizes = [
        n for n in module.graph.nodes if n.target is dequantize_per_tensor
    ]
    assert len(dequantizes) == 3
    assert all(len(n.users) == 1 for n in dequantizes)
    # The code too, which torch.export traces again.
    assert module.code.count('dequantize_per_tensor(') == 3
    for got, want in zip(module(x), expected):
        assert torch.equal(got, want)


class Scaled(nn.Module):
    def forward(self, x):
        return x * 2 + 1


def test_numbers_of_adds_and_multiplies_become_float_tensors():
    x = torch.rand(1, 2, 3, 3)
    module = torch.export.export(Scaled(), (x,)).module()
    script._scalars_as_tensors(module)
    for node in module.graph.nodes:
        if node.op == 'call_function':
            assert all(isinstance(a, torch.fx.Node) for a in node.args)
    # float, as XNNPACK takes them (an int64 one is cast outside it)
    attrs = [n for n in module.graph.nodes if n.op == 'get_attr']
    assert len(attrs) == 2
    assert all(getattr(module, n.target).dtype == torch.float32 for n in attrs)
    assert torch.equal(module(x), x * 2 + 1)


def test_the_request_is_read_and_the_report_written(tmp_path, monkeypatch):
    model = nn.Sequential(nn.Conv2d(3, 4, 1)).eval()
    program = str(tmp_path / 'model.pt2')
    torch.export.save(
        torch.export.export(model, (torch.rand(2, 3, 8, 6),)), program
    )
    np.save(tmp_path / 'calib.npy', np.ones((4, 3, 8, 6), np.float32))
    seen = {}

    def converter(request, program, example, images):
        seen.update(request=request, example=example, images=images)
        return {'written': request['output']}

    monkeypatch.setitem(script.CONVERTERS, 'stand-in', converter)
    request = {
        'runtime': 'stand-in',
        'precision': 'int8',
        'program': program,
        'images': str(tmp_path / 'calib.npy'),
        'output': str(tmp_path / 'model.out'),
        'report': str(tmp_path / 'report.json'),
    }
    (tmp_path / 'request.json').write_text(json.dumps(request))
    script.main(str(tmp_path / 'request.json'))
    with open(tmp_path / 'report.json') as f:
        assert json.load(f) == {'written': str(tmp_path / 'model.out')}
    assert seen['request'] == request
    # The example takes the program's static input shape (a new draw).
    assert seen['example'].shape == (2, 3, 8, 6)
    assert np.array_equal(seen['images'], np.ones((4, 3, 8, 6)))
    # Without calibration images the converter gets an empty array.
    request['images'] = None
    (tmp_path / 'request.json').write_text(json.dumps(request))
    script.main(str(tmp_path / 'request.json'))
    assert seen['images'].size == 0


def test_there_is_a_converter_for_each_runtime_of_the_venv():
    assert set(script.CONVERTERS) == {'executorch', 'litert'}


def test_serve_reports_each_request_and_goes_on_after_a_failure(
    tmp_path, monkeypatch
):
    calls = []

    def main(path):
        calls.append(path)
        if path == 'bad.json':
            raise ValueError('no kernel for upsample')

    monkeypatch.setattr(script, 'main', main)
    out = io.StringIO()
    script.serve(io.StringIO('bad.json\n\ngood.json\n'), out)
    assert calls == ['bad.json', 'good.json']
    lines = out.getvalue().splitlines()
    done = [line for line in lines if line.startswith(script.DONE)]
    assert done == [f'{script.DONE} failed', f'{script.DONE} ok']
    failed = out.getvalue().split(done[0])[0]
    assert 'ValueError: no kernel for upsample' in failed
