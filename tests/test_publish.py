"""publish_checkpoint / tools/misc/publish_model.py: the release form of a
checkpoint loads with torch.load(weights_only=True) in a process that never
imported litehrnet_mm."""

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from litehrnet_mm import LiteHRNet
from litehrnet_mm.publish import PublishError, plain, publish_checkpoint
from tests.conftest import REPO

TOOL = REPO / 'tools' / 'misc' / 'publish_model.py'


def training_checkpoint(path):
    """What mmengine's runner saves: weights, numpy meta, optimizer,
    schedulers and the message hub's HistoryBuffers."""
    from mmengine.logging import HistoryBuffer

    model = LiteHRNet(arch='naive-18')
    buffer = HistoryBuffer()
    buffer.update(0.5)
    optimizer = torch.optim.Adam(model.parameters())
    checkpoint = dict(
        meta=dict(
            epoch=2,
            iter=6,
            seed=np.int64(0),
            cfg='model = dict()',
            dataset_meta=dict(
                sigmas=np.array([0.1, 0.2], np.float32),
                keypoint_colors=np.array([[255, 0, 0], [0, 255, 0]]),
                classes=('person',),
                num_keypoints=np.int64(2),
            ),
        ),
        state_dict=model.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_epoch=6)],
        message_hub=dict(log_scalars={'train/loss': buffer}),
    )
    torch.save(checkpoint, path)
    return checkpoint


def test_plain_types():
    value = plain(
        dict(
            a=np.array([[1, 2]]),
            b=(np.float32(0.5), [np.int64(3)]),
            c=torch.zeros(2),
        )
    )
    assert value['a'] == [[1, 2]] and type(value['a'][0][0]) is int
    assert value['b'] == (0.5, [3]) and type(value['b'][1][0]) is int
    assert torch.equal(value['c'], torch.zeros(2))
    with pytest.raises(PublishError, match=r"meta\['x'\] is a .*HistoryBuf"):
        from mmengine.logging import HistoryBuffer

        plain(dict(x=HistoryBuffer()))


def test_publish_keeps_weights_and_plain_meta(tmp_path):
    source = tmp_path / 'epoch_2.pth'
    original = training_checkpoint(source)
    saved = source.read_bytes()
    final = publish_checkpoint(str(source), str(tmp_path / 'out.pth'))
    digest = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert final == str(tmp_path / f'out-{digest[:8]}.pth')
    assert source.read_bytes() == saved  # the input is untouched
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(final).st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ['epoch_2.pth', f'out-{digest[:8]}.pth']
    )
    published = torch.load(final, weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    for name, value in original['state_dict'].items():
        assert torch.equal(published['state_dict'][name], value)
    meta = published['meta']
    assert meta['dataset_meta']['sigmas'] == pytest.approx([0.1, 0.2])
    assert meta['dataset_meta']['keypoint_colors'] == [
        [255, 0, 0],
        [0, 255, 0],
    ]
    assert meta['dataset_meta']['classes'] == ('person',)
    assert meta['seed'] == 0 and meta['epoch'] == 2


def test_the_same_weights_get_the_same_name_every_time(tmp_path):
    source = tmp_path / 'epoch_2.pth'
    training_checkpoint(source)
    first = publish_checkpoint(str(source), str(tmp_path / 'a' / 'lh.pth'))
    again = publish_checkpoint(str(source), str(tmp_path / 'b' / 'other.pth'))
    assert os.path.basename(first)[3:] == os.path.basename(again)[6:]
    assert open(first, 'rb').read() == open(again, 'rb').read()


def test_an_output_that_cannot_be_written_is_refused(tmp_path):
    source = tmp_path / 'epoch_2.pth'
    training_checkpoint(source)
    with pytest.raises(PublishError, match=r'out.txt: expected an OUT_FI'):
        publish_checkpoint(str(source), str(tmp_path / 'out.txt'))
    with pytest.raises(PublishError, match='epoch_2.pth is a file'):
        publish_checkpoint(str(source), str(source / 'out.pth'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_2.pth']


@pytest.mark.slow
def test_published_file_loads_in_a_process_without_litehrnet_mm(tmp_path):
    source = tmp_path / 'epoch_2.pth'
    training_checkpoint(source)
    final = publish_checkpoint(str(source), str(tmp_path / 'out.pth'))
    code = textwrap.dedent(f"""
        import sys, torch
        for path in ({str(source)!r}, {final!r}):
            try:
                ckpt = torch.load(path, weights_only=True)
                print('loaded', sorted(ckpt))
            except Exception as e:
                print('refused', type(e).__name__)
        assert 'litehrnet_mm' not in sys.modules
    """)
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        'refused UnpicklingError',
        "loaded ['meta', 'state_dict']",
    ]


def _tool(*args, env):
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_tool_prints_the_final_path_last(tmp_path, subprocess_env):
    source = tmp_path / 'epoch_2.pth'
    training_checkpoint(source)
    proc = _tool(source, tmp_path / 'release' / 'lh.pth', env=subprocess_env)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        re.escape(str(tmp_path)) + r'/release/lh-[0-9a-f]{8}'
        r'\.pth',
        last,
    )
    assert torch.load(last, weights_only=True)['meta']['iter'] == 6


def load_tool():
    spec = importlib.util.spec_from_file_location('publish_model', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('case', ['missing', 'folder', 'text', 'no weights'])
def test_tool_bad_input_gets_one_error(tmp_path, capsys, case):
    """The tool (its ``main`` through ``run_tool``, as the command runs it;
    a run of the command itself: test_tool_prints_the_final_path_last)
    exits with status 2 and one line, ``<tool>: error: ...``, naming the
    input, as the other tools do, and writes nothing."""
    source = tmp_path / 'in.pth'
    if case == 'folder':
        source = tmp_path
    elif case == 'text':
        source.write_text('not a checkpoint\n')
    elif case == 'no weights':
        torch.save({'state_dict': {'a': 1}}, source)
    from litehrnet_mm.utils.cli import run_tool

    with pytest.raises(SystemExit) as stop:
        run_tool(load_tool().main, [str(source), str(tmp_path / 'out.pth')])
    assert stop.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    (line,) = captured.err.splitlines()
    assert ': error: ' in line and str(source) in line
    assert not list(tmp_path.glob('out*'))


def test_publishing_a_release_onto_itself_is_refused(tmp_path):
    training_checkpoint(tmp_path / 'epoch_2.pth')
    released = publish_checkpoint(
        str(tmp_path / 'epoch_2.pth'), str(tmp_path / 'out.pth')
    )
    before = os.stat(released)
    # The release holds what it would publish: the same bytes, the same
    # name; refused rather than written over the input.
    with pytest.raises(PublishError, match='would overwrite the input'):
        publish_checkpoint(released, str(tmp_path / 'out.pth'))
    after = os.stat(released)
    assert (after.st_ino, after.st_mtime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
    )


def test_the_per_module_versions_travel_with_the_weights(tmp_path):
    original = training_checkpoint(tmp_path / 'epoch_2.pth')['state_dict']
    released = publish_checkpoint(
        str(tmp_path / 'epoch_2.pth'), str(tmp_path / 'out.pth')
    )
    weights = torch.load(released, weights_only=True)['state_dict']
    # BN's version (2) is what tells its loader num_batches_tracked is there.
    assert weights._metadata == original._metadata
    assert weights._metadata['stem.conv1.bn']['version'] == 2


def test_an_out_file_of_another_suffix_is_refused(tmp_path):
    training_checkpoint(tmp_path / 'epoch_2.pth')
    for out in ('out.pt', 'out.ckpt'):
        with pytest.raises(PublishError, match=r'ending in \.pth'):
            publish_checkpoint(
                str(tmp_path / 'epoch_2.pth'), str(tmp_path / out)
            )
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth']
