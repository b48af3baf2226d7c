"""The one check of a path that should be a file names what is there."""

import pytest

from litehrnet_mm import CheckpointError
from litehrnet_mm.utils.paths import require_file


def test_a_file_passes(tmp_path):
    path = tmp_path / 'a.pth'
    path.write_bytes(b'x')
    assert require_file(str(path), 'checkpoint') is None


def test_a_folder_or_nothing_is_named(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        require_file(str(tmp_path), 'checkpoint', '; expected a .pth file')
    assert str(info.value) == (
        f'checkpoint {tmp_path}: a folder; expected a .pth file'
    )
    missing = tmp_path / 'nowhere.json'
    with pytest.raises(FileNotFoundError, match=f'file {missing}: not found'):
        require_file(str(missing), 'annotation file')


def test_the_caller_s_error_type(tmp_path):
    with pytest.raises(CheckpointError, match='not found'):
        require_file(str(tmp_path / 'x'), 'checkpoint', error=CheckpointError)


def test_make_folder_makes_it_or_names_what_is_in_the_way(tmp_path):
    from litehrnet_mm.utils.paths import make_folder

    make_folder(str(tmp_path / 'a' / 'b'), 'out')
    assert (tmp_path / 'a' / 'b').is_dir()
    file = tmp_path / 'a' / 'file'
    file.write_text('kept')
    with pytest.raises(FileNotFoundError, match=f'out {file}/c: {file} is a'):
        make_folder(str(file / 'c'), 'out')
    with pytest.raises(CheckpointError, match='is a file; expected a folder'):
        make_folder(str(file), 'out', CheckpointError)
    assert file.read_text() == 'kept'


def test_a_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    from litehrnet_mm.utils import paths

    # (A read-only folder, as root sees none: the write itself refused.)
    def refused(dir=None):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(paths.tempfile, 'TemporaryFile', refused)
    with pytest.raises(
        CheckpointError,
        match=f'out {tmp_path}: cannot be made or written '
        r'\(Permission denied\); expected a folder',
    ):
        paths.make_folder(str(tmp_path), 'out', CheckpointError)
