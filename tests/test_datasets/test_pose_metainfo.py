"""The check of a pose dataset's own metainfo (datasets/pose_metainfo.py):
mmpose's dataset_info form, with one error naming the file and the
expected form where mmpose asserted without a message, raised a KeyError
or parsed a wrong flip."""

import glob
import os.path as osp

import pytest

from litehrnet_mm.datasets import DatasetError
from litehrnet_mm.datasets.pose_metainfo import check_pose_metainfo
from tests.test_datasets.building import build

INFO = """dataset_info = dict(
    dataset_name='five',
    keypoint_info={{
        0: dict(name='nose', id=0, color=[0, 0, 255], type='upper', swap=''),
        1: dict(name='l_sh', id=1, color=[0, 255, 0], type='upper',
                swap='r_sh'),
        2: dict(name='r_sh', id=2, color=[255, 0, 0], type='upper',
                swap='{r_sh_swap}'),
        {hips}
    }},
    skeleton_info={{
        0: dict(link=('nose', 'l_sh'), id=0, color=[0, 255, 0]),
        1: dict(link=('l_sh', '{link_end}'), id=1, color=[0, 255, 0]),
    }},
    joint_weights=[1.0] * 5,
    sigmas={sigmas},
)
"""
HIPS = (
    "3: dict(name='l_hip', id=3, swap='r_hip'), "
    "4: dict(name='r_hip', id=4, swap='l_hip'),"
)


def info_file(tmp_path, **changes):
    fields = dict(
        r_sh_swap='l_sh', hips=HIPS, link_end='r_sh', sigmas='[0.1] * 5'
    )
    fields.update(changes)
    path = tmp_path / 'five.py'
    path.write_text(INFO.format(**fields))
    return dict(from_file=str(path))


def test_a_metainfo_file_in_mmpose_s_form_passes(tmp_path):
    check_pose_metainfo(info_file(tmp_path), 'CocoDataset')
    check_pose_metainfo(info_file(tmp_path, sigmas='[]'), 'CocoDataset')


@pytest.mark.parametrize(
    'changes, message',
    [
        # mmpose: KeyError: 'rigth_sh'
        (
            dict(r_sh_swap='rigth_sh'),
            r"\[2\] \('r_sh'\) swaps with 'rigth_sh', which is no keypoint "
            r"of it; expected swap='' or one of \['l_hip'",
        ),
        # mmpose: a flip that moves l_sh onto r_sh and r_sh onto itself
        (
            dict(r_sh_swap=''),
            r"\('l_sh'\) swaps with 'r_sh', but 'r_sh' swaps with 'r_sh'",
        ),
        # mmpose: KeyError: 'neck'
        (dict(link_end='neck'), r'skeleton_info\[1\] .* does not link two'),
        # mmpose: a broadcast error inside COCO's OKS, after an interval
        (dict(sigmas='[0.1] * 3'), 'sigmas has 3 entries for 5 keypoints'),
        # mmpose: flip indices 1..5 of 5 channels, an IndexError in a flip
        (
            dict(hips=HIPS.replace('3:', '5:')),
            r'keypoint_info ids \[0, 1, 2, 5, 4\]; expected the ids 0..4',
        ),
    ],
)
def test_a_metainfo_file_s_mistake_is_named(tmp_path, changes, message):
    metainfo = info_file(tmp_path, **changes)
    with pytest.raises(DatasetError, match='metainfo file .*five.py: '):
        check_pose_metainfo(metainfo, 'CocoDataset')
    with pytest.raises(DatasetError, match=message):
        check_pose_metainfo(metainfo, 'CocoDataset')


def test_a_file_without_dataset_info_or_a_dict_without_keypoint_info(
    tmp_path,
):
    other = tmp_path / 'other.py'
    other.write_text('metainfo = dict(dataset_name="five")\n')
    with pytest.raises(
        DatasetError,
        match=r'other.py defines no dataset_info dict \(it defines metainfo'
        r'\); expected dataset_info = dict\(dataset_name=',
    ):
        check_pose_metainfo(dict(from_file=str(other)), 'CocoDataset')
    # mmpose: AssertionError without a message
    flat = dict(dataset_name='five', flip_indices=[0, 2, 1])
    with pytest.raises(
        DatasetError,
        match='CocoDataset: metainfo: no keypoint_info, skeleton_info, '
        'joint_weights, sigmas; expected dataset_info',
    ):
        check_pose_metainfo(flat, 'CocoDataset')


def test_a_missing_file_is_left_to_mmpose(tmp_path):
    """mmpose looks for its own file of that name, then raises
    FileNotFoundError naming it."""
    check_pose_metainfo(dict(from_file=str(tmp_path / 'no.py')), 'X')


def test_the_dataset_checks_its_metainfo_before_its_files(tmp_path):
    with pytest.raises(DatasetError, match="swaps with 'rigth_sh'"):
        build(
            'mmpose',
            type='litehrnet_mm.CocoDataset',
            data_root=str(tmp_path),
            ann_file='annotations/train.json',
            metainfo=info_file(tmp_path, r_sh_swap='rigth_sh'),
        )


def test_mmpose_s_own_dataset_infos_pass_but_one_with_a_wrong_flip():
    """Every dataset_info that mmpose ships, but deepfashion2.py, whose
    vest_kpt9 swaps with vest_kpt13 and vest_kpt13 with itself."""
    mmpose = pytest.importorskip('mmpose')
    folder = osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets'
    )
    refused = []
    for path in sorted(glob.glob(osp.join(folder, '*.py'))):
        try:
            check_pose_metainfo(dict(from_file=path), 'X')
        except DatasetError:
            refused.append(osp.basename(path))
    assert len(glob.glob(osp.join(folder, '*.py'))) > 40
    assert refused == ['deepfashion2.py']


def three(**changes):
    """A metainfo dict of three keypoints, as a config writes it inline."""
    info = dict(
        dataset_name='three',
        keypoint_info={
            0: dict(name='nose', id=0, swap=''),
            1: dict(name='l_sh', id=1, swap='r_sh'),
            2: dict(name='r_sh', id=2, swap='l_sh'),
        },
        skeleton_info={0: dict(link=('nose', 'l_sh'), id=0)},
        joint_weights=[1.0] * 3,
        sigmas=[0.1] * 3,
    )
    info.update(changes)
    return info


def keypoints(*kpts):
    return dict(enumerate(kpts))


@pytest.mark.parametrize(
    'changes, message',
    [
        (
            dict(keypoint_info={}),
            'keypoint_info is not a dict of keypoints by id',
        ),
        # mmpose orders the flip by the dict's order, not by the ids
        (
            dict(
                keypoint_info={
                    k: three()['keypoint_info'][k] for k in (1, 0, 2)
                }
            ),
            r'keypoint_info ids \[1, 0, 2\]; expected the ids 0..2 in order',
        ),
        (
            dict(keypoint_info=keypoints(dict(id=0), dict(name='a', id=1))),
            r'keypoint_info\[0\] = \{.id.: 0\} has no name',
        ),
        (
            dict(
                keypoint_info=keypoints(
                    dict(name='nose'), dict(name='l_sh'), dict(name='l_sh')
                )
            ),
            r"keypoint_info\[2\] and \[1\] are both named 'l_sh'; expected o"
            'ne name per keypoint',
        ),
        (
            dict(skeleton_info=[dict(link=('nose', 'l_sh'))]),
            'skeleton_info is not a dict of links by id',
        ),
        (
            dict(skeleton_info={0: dict(link=('nose', 'l_sh', 'r_sh'))}),
            r'skeleton_info\[0\] = .* does not link two of its keypoints',
        ),
        (
            dict(skeleton_info={0: dict(link={'nose', 'l_sh'})}),
            r'skeleton_info\[0\] = .* does not link two of its keypoints',
        ),
        # np.array(None) in mmpose, a failure inside OKS later
        (dict(sigmas=None), 'sigmas has None entries for 3 keypoints'),
    ],
)
def test_a_metainfo_dict_s_mistake_is_named(changes, message):
    with pytest.raises(
        DatasetError, match=f'^CocoDataset: metainfo: {message}'
    ):
        check_pose_metainfo(three(**changes), 'CocoDataset')


def test_a_keypoint_without_swap_is_its_own_mirror():
    """As in mmpose's parsing: no swap is swap=''."""
    info = three()
    del info['keypoint_info'][0]['swap']
    check_pose_metainfo(info, 'CocoDataset')


def test_a_metainfo_file_that_cannot_be_read_is_named(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text('dataset_info = dict(\n')
    with pytest.raises(
        DatasetError,
        match=r'^X: metainfo file .*broken.py cannot be read \(SyntaxError',
    ):
        check_pose_metainfo(dict(from_file=str(broken)), 'X')
    number = tmp_path / 'number.py'
    number.write_text('dataset_info = 3\n')
    with pytest.raises(DatasetError, match='number.py defines no dataset_i'):
        check_pose_metainfo(dict(from_file=str(number)), 'X')
