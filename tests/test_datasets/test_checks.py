"""The checks of a data folder (datasets/checks.py): each names the path
and what was expected there. (Through the datasets: test_pose.py,
test_seg.py.)"""

import pytest

from litehrnet_mm.datasets.checks import require_dir, require_images


def test_a_folder_passes_and_anything_else_is_named(tmp_path):
    require_dir(str(tmp_path), 'data root')
    file = tmp_path / 'a.txt'
    file.write_text('')
    with pytest.raises(FileNotFoundError, match=f'^data root {file}: a file'):
        require_dir(str(file), 'data root')
    gone = tmp_path / 'gone'
    with pytest.raises(
        FileNotFoundError, match=f'^image folder {gone}: not found; see x$'
    ):
        require_dir(str(gone), 'image folder', '; see x')
    with pytest.raises(FileNotFoundError, match='^data root None: not found'):
        require_dir(None, 'data root')


def test_the_first_image_of_a_list_must_exist(tmp_path):
    present = tmp_path / 'a.jpg'
    present.write_bytes(b'')
    # Only the first is checked (a wrong prefix misses them all).
    require_images([str(present), str(tmp_path / 'b.jpg')], 'x', 'y')
    require_images([], str(tmp_path), 'train.json')
    with pytest.raises(
        FileNotFoundError,
        match=f'image {tmp_path}/b.jpg named in train.json not found; '
        f'expected the images of train.json under {tmp_path}',
    ):
        require_images([str(tmp_path / 'b.jpg')], str(tmp_path), 'train.json')
