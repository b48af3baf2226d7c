"""The pose demo's paths: relative ones are the user's, from where the demo
was started (it then runs in the repository), and a ``--work-dir`` that
cannot be a folder stops it with one line before anything is written (the
full demo trains for minutes; `make demo` runs it)."""

import pytest

from tests.conftest import REPO, load_tool

DEMO = REPO / 'tools' / 'demo' / 'pose_demo.py'


def run_demo(argv):
    with pytest.raises(SystemExit) as stop:
        load_tool(str(DEMO.relative_to(REPO))).main(argv)
    return str(stop.value.code)


def test_relative_paths_are_the_user_s(tmp_path, monkeypatch, capsys):
    """It looked for ``--data-root empty`` in the repository, not where
    the user stood: 'data folder not found: empty'."""
    (tmp_path / 'empty').mkdir()
    monkeypatch.chdir(tmp_path)
    message = run_demo(['--data-root', 'empty', '--work-dir', 'out'])
    assert message == f'pose demo: data folder is empty: {tmp_path}/empty'
    assert (tmp_path / 'out').is_dir()  # the work folder is the user's too
    assert not (REPO / 'out').exists()
    assert capsys.readouterr().out == ''


def test_work_dir_that_is_a_file(tmp_path, monkeypatch):
    """It stopped on NotADirectoryError's traceback inside os.makedirs
    while generating the data."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'notes.txt').write_text('mine')
    message = run_demo(['--work-dir', 'notes.txt'])
    assert message == (
        f'pose demo: --work-dir {tmp_path}/notes.txt: {tmp_path}/notes.txt '
        'is a file; expected a folder that exists or can be made'
    )
    assert (tmp_path / 'notes.txt').read_text() == 'mine'
