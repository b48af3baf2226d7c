"""The script that runs in the converters venv
(deploy/exporters/convert_in_venv.py), in this process: it imports only
torch and numpy until a converter runs, so its request handling and its
rewrite of the program are tested here on a stand-in converter (the real
conversions: test_executorch.py, test_litert.py)."""

import io
import json

import numpy as np
import torch
import torch.nn as nn

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
