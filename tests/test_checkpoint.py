"""Checkpoints written by mmengine's runner load under weights_only=True;
a checkpoint that carries code is still refused; bad files get errors of
mmengine's type naming them; any other model's checkpoint loads as without
the import."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from litehrnet_mm import LiteHRNet
from tests.conftest import REPO


class TinyPoseModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.backbone = LiteHRNet(arch='naive-18')
        self.head = torch.nn.Conv2d(30, 2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.head(self.backbone(inputs)[0])
        if mode == 'loss':
            return dict(loss=(out - targets).pow(2).mean())
        return out


class TinyDataset(torch.utils.data.Dataset):
    # numpy arrays in the metainfo end up in the checkpoint's meta, as the
    # keypoint datasets' sigmas and flip indices do.
    metainfo = dict(sigmas=np.array([0.1, 0.2]), num_keypoints=np.int64(2))

    def __len__(self):
        return 4

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(
            inputs=torch.rand(3, 32, 32, generator=g),
            targets=torch.rand(2, 8, 8, generator=g),
        )


def run(work_dir, max_iters, resume=False, load_from=None):
    runner = Runner(
        model=TinyPoseModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=TinyDataset(),
            batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1),
        ),
        resume=resume,
        load_from=load_from,
        default_scope='mmengine',
    )
    runner.train()
    return runner


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('runner')
    run(work_dir, max_iters=2)
    return work_dir / 'iter_2.pth'


@pytest.mark.slow
def test_runner_checkpoint_loads_with_weights_only(runner_checkpoint):
    ckpt = torch.load(runner_checkpoint)  # weights_only=True by default
    assert 'backbone.stem.conv1.conv.weight' in ckpt['state_dict']
    assert np.allclose(ckpt['meta']['dataset_meta']['sigmas'], [0.1, 0.2])


@pytest.mark.slow
def test_fresh_process_fails_without_and_loads_with_import(
    runner_checkpoint, run_python
):
    code = textwrap.dedent(f"""
        import torch
        try:
            torch.load({str(runner_checkpoint)!r})
            print('loaded without')
        except Exception:
            print('refused without')
        import litehrnet_mm
        ckpt = torch.load({str(runner_checkpoint)!r})
        print('loaded with', ckpt['meta']['iter'])
    """)
    out = run_python(code)
    assert out.split('\n')[:2] == ['refused without', 'loaded with 2']


def test_checkpoint_with_code_is_refused(tmp_path):
    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), 'w'))

    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'x': Payload()}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    """HistoryBuffer needs getattr(HistoryBuffer, 'min'); any other getattr
    (the first step to __globals__ and os.system) is refused."""
    from mmengine.logging import HistoryBuffer

    class Reach:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'reach.pth'
    torch.save({'x': Reach()}, path)
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(path)
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'buffer': buffer}, path)
    assert torch.load(path)['buffer'].mean() == 1.5


# Bad checkpoint files: one error naming the file ---------------------------


class Wrapper(torch.nn.Module):
    """A detector-like model: the backbone under ``backbone.``."""

    def __init__(self, arch, with_head=True):
        super().__init__()
        self.backbone = LiteHRNet(arch=arch, with_head=with_head)
        self.head = torch.nn.Conv2d(40, 17, 1)


def save(model, path):
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def test_missing_file(tmp_path):
    from mmengine.runner import load_checkpoint

    path = tmp_path / 'nowhere.pth'
    with pytest.raises(FileNotFoundError, match=f'{path}: not found'):
        load_checkpoint(Wrapper('18'), str(path))
    with pytest.raises(FileNotFoundError, match='a folder'):
        load_checkpoint(Wrapper('18'), str(tmp_path))


@pytest.mark.parametrize(
    'keep,error', [(0, EOFError), (100, RuntimeError), (0.5, RuntimeError)]
)
def test_truncated_or_empty_file(tmp_path, keep, error):
    """mmengine fails on these too: the same exception type, naming the
    file and saying what is wrong with it."""
    from mmengine.runner import load_checkpoint

    path = save(Wrapper('naive-18'), tmp_path / 'full.pth')
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[: int(keep * len(data)) if keep < 1 else keep])
    what = 'empty' if keep == 0 else 'truncated or not a PyTorch'
    with pytest.raises(
        error, match=f'checkpoint {cut} cannot be read: it is ' + what
    ):
        load_checkpoint(Wrapper('naive-18'), str(cut))


def test_not_a_checkpoint(tmp_path):
    from mmengine.runner import load_checkpoint

    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n')
    with pytest.raises(IndexError, match='truncated or not a PyTorch'):
        load_checkpoint(Wrapper('18'), str(path))


def test_checkpoint_with_code_is_refused_by_name(tmp_path):
    from mmengine.runner import load_checkpoint

    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), 'w'))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match=f'checkpoint {path}'):
        load_checkpoint(Wrapper('18'), str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    'saved,loaded,words',
    [
        (('30', True), ('18', True), ['unexpected', "fits arch='30'"]),
        (('18', True), ('30', True), ['missing', "fits arch='18'"]),
        (
            ('wider-naive-18', True),
            ('18', True),
            ['missing', 'unexpected', "fits arch='wider-naive-18'"],
        ),
        (
            ('18', False),
            ('18', True),
            ['missing', 'head_layer', 'with_head=False'],
        ),
    ],
)
def test_checkpoint_of_another_architecture(tmp_path, saved, loaded, words):
    from mmengine.runner import load_checkpoint

    from litehrnet_mm import CheckpointError

    path = save(Wrapper(*saved), tmp_path / 'other.pth')
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(Wrapper(*loaded), path)  # strict=False
    message = str(info.value)
    assert message.startswith(f'checkpoint {path} does not fit')
    assert "under 'backbone.'" in message
    for word in words:
        assert word in message, message


def test_channel_mismatch_names_the_shapes():
    extra = LiteHRNet().extra
    extra['stages_spec']['num_channels'] = (
        (40, 96),
        (40, 96, 160),
        (40, 96, 160, 320),
    )
    with pytest.raises(ValueError, match='other shapes'):
        LiteHRNet(extra=extra).load_state_dict(LiteHRNet().state_dict())


def test_matching_checkpoint_still_loads(tmp_path):
    from mmengine.runner import load_checkpoint

    source = Wrapper('18')
    path = save(source, tmp_path / 'same.pth')
    target = Wrapper('18')
    load_checkpoint(target, path, strict=True)
    loaded = target.state_dict()
    for name, value in source.state_dict().items():
        assert torch.equal(loaded[name], value)


# Import changes nothing for other checkpoints ------------------------------

# Loads checkpoints through mmengine and prints what came out: results,
# metadata, errors and mmengine's log line about the loader.
_LOAD_SCRIPT = """
import json, logging, sys
import torch
if sys.argv[1] == 'import':
    import litehrnet_mm
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader, load_checkpoint

lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())
MMLogger.get_current_instance().addHandler(Keep())

def outcome(call):
    try:
        ckpt = call()
    except Exception as e:
        return dict(error=type(e).__name__, message=str(e))
    state_dict = ckpt.get('state_dict', ckpt)
    return dict(
        keys=sorted(state_dict),
        metadata=repr(getattr(state_dict, '_metadata', None)),
    )

torch.manual_seed(0)
folder = sys.argv[2]
result = dict(
    linear=outcome(lambda: load_checkpoint(
        torch.nn.Linear(3, 2), folder + '/linear.pth')),
    bare=outcome(lambda: CheckpointLoader.load_checkpoint(
        folder + '/bare.pth')),
    cuda=outcome(lambda: CheckpointLoader.load_checkpoint(
        folder + '/linear.pth', map_location='cuda')),
    missing=outcome(lambda: CheckpointLoader.load_checkpoint(
        folder + '/missing.pth')),
    litehrnet=outcome(lambda: CheckpointLoader.load_checkpoint(
        folder + '/litehrnet.pth')),
    log=lines,
)
print(json.dumps(result))
"""


@pytest.fixture(scope='module')
def with_and_without_import(tmp_path_factory):
    folder = tmp_path_factory.mktemp('plain')
    linear = torch.nn.Linear(3, 2)
    torch.save({'state_dict': linear.state_dict()}, folder / 'linear.pth')
    torch.save(linear.state_dict(), folder / 'bare.pth')
    save(Wrapper('naive-18'), folder / 'litehrnet.pth')
    env = dict(os.environ, PYTHONPATH=str(REPO))
    outcomes = {}
    for mode in ('plain', 'import'):
        out = subprocess.run(
            [sys.executable, '-c', _LOAD_SCRIPT, mode, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        outcomes[mode] = json.loads(out.strip().splitlines()[-1])
    return folder, outcomes['plain'], outcomes['import']


@pytest.mark.slow
@pytest.mark.parametrize('case', ['linear', 'bare', 'cuda'])
def test_other_checkpoints_load_as_without_import(
    with_and_without_import, case
):
    """Same keys, same metadata (no tag of ours), same errors with the same
    message (a CUDA error stays a CUDA error)."""
    _, plain, imported = with_and_without_import
    assert imported[case] == plain[case]
    if case == 'cuda':
        assert imported[case]['error'] == 'RuntimeError'
        assert 'CUDA' in imported[case]['message']
    else:
        assert 'litehrnet_mm' not in imported[case]['metadata']


@pytest.mark.slow
def test_log_names_the_local_backend(with_and_without_import):
    folder, plain, imported = with_and_without_import
    assert imported['log'] == plain['log']
    assert (
        f'Loads checkpoint by local backend from path: {folder}/linear.pth'
        in imported['log']
    )


@pytest.mark.slow
def test_missing_file_keeps_the_error_type(with_and_without_import):
    folder, plain, imported = with_and_without_import
    assert plain['missing']['error'] == 'FileNotFoundError'
    assert imported['missing']['error'] == 'FileNotFoundError'
    assert f'{folder}/missing.pth: not found' in imported['missing']['message']


@pytest.mark.slow
def test_only_litehrnet_state_dicts_are_tagged(with_and_without_import):
    folder, plain, imported = with_and_without_import
    assert imported['litehrnet']['keys'] == plain['litehrnet']['keys']
    assert 'litehrnet_mm.source' not in plain['litehrnet']['metadata']
    assert (
        f"'litehrnet_mm.source': '{folder}/litehrnet.pth'"
        in imported['litehrnet']['metadata']
    )


@pytest.mark.parametrize(
    'state_dict,expected',
    [
        (LiteHRNet(arch='naive-18').state_dict(), True),
        (
            {'backbone.' + k: v for k, v in LiteHRNet().state_dict().items()},
            True,
        ),
        # The deploy form (BN folded): its stem conv has another name.
        (LiteHRNet(arch='18').eval().switch_to_deploy().state_dict(), True),
        (torch.nn.Linear(3, 2).state_dict(), False),
        # A model with a stem of that name but no Lite-HRNet stages.
        ({'stem.conv1.conv.weight': torch.zeros(1), 'stage0.x': 1}, False),
        ({'mystem.conv1.conv.weight': 1, 'mytransition0.0': 1}, False),
        # The names of a backbone's first layers, run into a longer
        # name: no Lite-HRNet under the prefix 'my'.
        (
            {
                'mystem.conv1.conv.weight': 1,
                'mytransition0.0': 1,
                'mystage0.0.x': 1,
            },
            False,
        ),
        ([1, 2], False),
    ],
)
def test_is_litehrnet_state_dict(state_dict, expected):
    from litehrnet_mm.checkpoint import is_litehrnet_state_dict

    assert is_litehrnet_state_dict(state_dict) is expected


# numpy 2 pickles ------------------------------------------------------------


def test_numpy2_checkpoint_loads_like_a_numpy1_one(tmp_path):
    """numpy 2 names its array and scalar reconstructors
    ``numpy._core.multiarray.*``; the same two are allowed under that name,
    and nothing else of numpy._core."""
    meta = dict(sigmas=np.array([0.1, 0.2]), num_keypoints=np.int64(2))
    path = tmp_path / 'numpy1.pth'
    torch.save({'meta': meta}, path)
    with zipfile.ZipFile(path) as source:
        files = {n: source.read(n) for n in source.namelist()}
    (pkl,) = [n for n in files if n.endswith('data.pkl')]
    assert b'numpy.core.multiarray' in files[pkl]
    files[pkl] = files[pkl].replace(
        b'numpy.core.multiarray', b'numpy._core.multiarray'
    )
    numpy2 = tmp_path / 'numpy2.pth'
    with zipfile.ZipFile(numpy2, 'w') as target:
        for name, data in files.items():
            target.writestr(name, data)
    loaded = torch.load(numpy2)['meta']
    assert np.array_equal(loaded['sigmas'], meta['sigmas'])
    assert loaded['num_keypoints'] == 2
    assert type(loaded['num_keypoints']) is np.int64

    # Another callable of numpy._core stays refused.
    files[pkl] = files[pkl].replace(
        b'numpy._core.multiarray\n_reconstruct',
        b'numpy._core.multiarray\nfromfile',
    )
    evil = tmp_path / 'evil.pth'
    with zipfile.ZipFile(evil, 'w') as target:
        for name, data in files.items():
            target.writestr(name, data)
    with pytest.raises(pickle.UnpicklingError, match='fromfile'):
        torch.load(evil)
