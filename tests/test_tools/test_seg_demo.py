"""The segmentation demo stops with one clear error naming a bad data
folder (the full demo trains for minutes; `make demo` runs it)."""

import subprocess

import pytest

from tests.conftest import REPO, SEG_DEMO, load_tool

DEMO = REPO / 'tools' / 'demo' / 'seg_demo.py'


def _run(python, env, *args):
    return subprocess.run(
        [python, str(DEMO), *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


def load_demo():
    return load_tool(str(DEMO.relative_to(REPO)))


def bad_data_folder(tmp_path, case):
    """A data folder that is missing, empty or holds a malformed picture;
    returns it and the path the error must name."""
    data = tmp_path / 'data'
    if case == 'empty':
        (data / 'img_dir' / 'train').mkdir(parents=True)
        (data / 'ann_dir' / 'train').mkdir(parents=True)
        return data, data / 'img_dir' / 'train'
    if case == 'malformed':
        for split in ('train', 'val'):
            (data / 'img_dir' / split).mkdir(parents=True)
            (data / 'ann_dir' / split).mkdir(parents=True)
            (data / 'img_dir' / split / '00000.png').write_bytes(b'junk')
        return data, data / 'img_dir' / 'train' / '00000.png'
    return data, data


@pytest.mark.slow  # a child interpreter
def test_bad_data_folder_is_named(tmp_path, python, subprocess_env):
    """The command: a nonzero exit and one error line, no traceback."""
    data, named = bad_data_folder(tmp_path, 'missing')
    proc = _run(
        python, subprocess_env, '--data', data, '--work-dir', tmp_path / 'w'
    )
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    # One error line (other stderr lines are the hosts' deprecation
    # warnings at import).
    (line,) = [
        x for x in proc.stderr.splitlines() if x.startswith('seg demo: ')
    ]
    assert str(named) in line


@pytest.mark.parametrize('case', ['missing', 'empty', 'malformed'])
def test_every_bad_data_folder_is_named(tmp_path, capsys, case):
    """``main`` in this process (what the command runs): it stops with
    SystemExit and its one message (printed, it exits 1), before it
    trains or prints anything else."""
    data, named = bad_data_folder(tmp_path, case)
    with pytest.raises(SystemExit) as stop:
        load_demo().main(['--data', str(data), '--work-dir', str(tmp_path)])
    message = str(stop.value.code)
    assert message.startswith('seg demo: ') and str(named) in message
    assert '\n' not in message and capsys.readouterr().out == ''


def test_demo_config_matches_the_generator():
    pytest.importorskip('mmseg')
    from mmengine.config import Config

    from litehrnet_mm.data.synthetic_seg import CLASSES, PALETTE

    config = SEG_DEMO
    cfg = Config.fromfile(str(config))
    assert tuple(cfg.metainfo.classes) == CLASSES
    assert [tuple(c) for c in cfg.metainfo.palette] == list(PALETTE)
    assert cfg.model.decode_head.num_classes == len(CLASSES)
    assert cfg.model.backbone.arch == '18'
    assert cfg.train_cfg.max_iters == 600
    assert config.stem.endswith('-{}x{}'.format(*cfg.crop_size))


@pytest.mark.slow
def test_demo_pictures_show_image_truth_and_prediction(tmp_path):
    """The demo's drawing step on an initialised (untrained) model: one
    picture per held-out image, panels scaled up from 64x64."""
    pytest.importorskip('mmseg')
    import cv2

    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset
    from litehrnet_mm.utils.mim import save_untrained

    demo = load_demo()
    data = tmp_path / 'data'
    generate_seg_dataset(str(data), 1, 2, size=(64, 64), seed=3)
    checkpoint = str(tmp_path / 'untrained.pth')
    save_untrained(demo.CONFIG, checkpoint)
    pictures = demo.draw_pictures(
        demo.CONFIG, checkpoint, str(data), str(tmp_path / 'pictures'), 2
    )
    assert [p.split('/')[-1] for p in pictures] == ['00000.png', '00001.png']
    for path in pictures:
        picture = cv2.imread(path)
        assert picture.shape[1] >= 3 * 256 and picture.shape[0] > 256


def test_work_dir_that_is_a_file(tmp_path, capsys):
    """It stopped on FileExistsError's traceback inside os.makedirs."""
    notes = tmp_path / 'notes.txt'
    notes.write_text('mine')
    with pytest.raises(SystemExit) as stop:
        load_demo().main(['--work-dir', str(notes)])
    assert str(stop.value.code) == (
        f'seg demo: --work-dir {notes}: {notes} is a file; expected a '
        'folder that exists or can be made'
    )
    assert notes.read_text() == 'mine'
    assert capsys.readouterr().out == ''
