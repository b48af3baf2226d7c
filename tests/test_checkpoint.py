"""Checkpoints written by mmengine's runner load under weights_only=True;
a checkpoint that carries code is still refused."""

import pickle
import subprocess
import textwrap

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from litehrnet_mm import LiteHRNet


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


def test_runner_checkpoint_loads_with_weights_only(runner_checkpoint):
    ckpt = torch.load(runner_checkpoint)  # weights_only=True by default
    assert 'backbone.stem.conv1.conv.weight' in ckpt['state_dict']
    assert np.allclose(ckpt['meta']['dataset_meta']['sigmas'], [0.1, 0.2])


def test_fresh_process_fails_without_and_loads_with_import(
    runner_checkpoint, python, subprocess_env
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
    out = subprocess.run(
        [python, '-c', code],
        env=subprocess_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split('\n')[:2] == ['refused without', 'loaded with 2']


def test_resume_and_load_from(runner_checkpoint, tmp_path):
    work_dir = runner_checkpoint.parent
    runner = run(work_dir, max_iters=3, resume=True)
    assert runner.iter == 3
    runner = run(tmp_path, max_iters=1, load_from=str(runner_checkpoint))
    assert runner.iter == 1


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


@pytest.mark.parametrize('keep', [0, 100, 0.5])
def test_truncated_or_empty_file(tmp_path, keep):
    from mmengine.runner import load_checkpoint

    from litehrnet_mm.checkpoint import CheckpointError

    path = save(Wrapper('naive-18'), tmp_path / 'full.pth')
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[: int(keep * len(data)) if keep < 1 else keep])
    with pytest.raises(CheckpointError, match=f'checkpoint {cut}'):
        load_checkpoint(Wrapper('naive-18'), str(cut))


def test_not_a_checkpoint(tmp_path):
    from mmengine.runner import load_checkpoint

    from litehrnet_mm.checkpoint import CheckpointError

    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n')
    with pytest.raises(CheckpointError, match='truncated or not a PyTorch'):
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

    from litehrnet_mm.checkpoint import CheckpointError

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
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value)
