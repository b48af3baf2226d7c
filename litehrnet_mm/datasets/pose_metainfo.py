"""The check of a pose dataset's metainfo (mmpose's ``dataset_info``).

A dataset of your own keypoints is declared as mmpose 1.x declares its own:
``metainfo=dict(from_file='my_info.py')``, a file that defines
``dataset_info = dict(dataset_name=..., keypoint_info=..., skeleton_info=...,
joint_weights=..., sigmas=...)``, or that dict itself. mmpose parses it with
bare asserts (an ``AssertionError`` without a message for a missing key), a
``KeyError`` of a misspelt ``swap`` or link name, and takes keypoint ids
that are not 0..K-1, a swap that is not mutual (a wrong flip), or
``joint_weights`` and ``sigmas`` of another length than the keypoints
without a word, to fail later inside a flip, the loss or the COCO metric.
:func:`check_pose_metainfo` names the file and what was expected first.
"""

import os.path as osp
from typing import Mapping, Optional

from litehrnet_mm.errors import DatasetError

__all__ = ['DATASET_INFO_FORM', 'check_pose_metainfo']

#: The form of mmpose's dataset_info, quoted in the errors.
DATASET_INFO_FORM = (
    "dataset_info = dict(dataset_name='mine', keypoint_info={0: dict("
    "name='nose', id=0, color=[51, 153, 255], type='upper', swap=''), 1: "
    "dict(name='left_eye', ..., swap='right_eye'), ...}, skeleton_info={0: "
    "dict(link=('nose', 'left_eye'), id=0, color=[0, 255, 0]), ...}, "
    'joint_weights=[1.0, ...], sigmas=[0.025, ...]) (one entry per keypoint '
    "in joint_weights and sigmas; mmpose's configs/_base_/datasets/coco.py "
    'is one)'
)
_KEYS = ('dataset_name', 'keypoint_info', 'skeleton_info', 'joint_weights')


def _load_from_file(path: str, owner: str) -> Optional[Mapping]:
    """The ``dataset_info`` of a ``from_file`` metainfo, or None where
    mmpose's own lookup decides (a path that is not a file: mmpose tries
    its own configs of that name, then raises FileNotFoundError naming
    it)."""
    if not osp.isfile(path):
        return None
    from mmengine import Config

    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # a syntax error, a bad base
        raise DatasetError(
            f'{owner}: metainfo file {path} cannot be read '
            f'({type(e).__name__}: {e}); expected a Python file with '
            f'{DATASET_INFO_FORM}'
        ) from None
    info = cfg.get('dataset_info')
    if not isinstance(info, Mapping):
        found = ', '.join(sorted(cfg.keys())) or 'nothing'
        raise DatasetError(
            f'{owner}: metainfo file {path} defines no dataset_info dict '
            f'(it defines {found}); expected {DATASET_INFO_FORM}'
        )
    return info


def check_pose_metainfo(metainfo: Mapping, owner: str) -> None:
    """Raise :class:`~litehrnet_mm.errors.DatasetError` naming the source
    (``metainfo`` or its ``from_file``) and the expected form at the first
    problem mmpose would fail on later, or parse into a wrong flip.

    Args:
        metainfo (Mapping): A pose dataset's ``metainfo`` argument.
        owner (str): The dataset class, named in the message.
    """
    source = 'metainfo'
    info = metainfo
    if 'from_file' in metainfo:
        source = f'metainfo file {metainfo["from_file"]}'
        info = _load_from_file(str(metainfo['from_file']), owner)
        if info is None:
            return

    def fail(problem: str, expected: str = DATASET_INFO_FORM):
        raise DatasetError(
            f'{owner}: {source}: {problem}; expected {expected}'
        )

    missing = [k for k in (*_KEYS, 'sigmas') if k not in info]
    if missing:
        fail(f'no {", ".join(missing)}')
    keypoints = info['keypoint_info']
    if not isinstance(keypoints, Mapping) or not keypoints:
        fail('keypoint_info is not a dict of keypoints by id')
    count = len(keypoints)
    ids = list(keypoints)
    if ids != list(range(count)):
        fail(
            f'keypoint_info ids {ids}',
            f'the ids 0..{count - 1} in order (the heatmap channels), '
            f'as in {DATASET_INFO_FORM}',
        )
    names = {}
    for kpt_id, kpt in keypoints.items():
        if not isinstance(kpt, Mapping) or not isinstance(
            kpt.get('name'), str
        ):
            fail(f'keypoint_info[{kpt_id}] = {kpt!r} has no name')
        if kpt['name'] in names:
            fail(
                f'keypoint_info[{kpt_id}] and [{names[kpt["name"]]}] are '
                f'both named {kpt["name"]!r}',
                'one name per keypoint',
            )
        names[kpt['name']] = kpt_id
    for kpt_id, kpt in keypoints.items():
        swap = kpt.get('swap', '') or kpt['name']
        if swap not in names:
            fail(
                f'keypoint_info[{kpt_id}] ({kpt["name"]!r}) swaps with '
                f'{swap!r}, which is no keypoint of it',
                f"swap='' or one of {sorted(names)}",
            )
    for kpt_id, kpt in keypoints.items():
        swap = kpt.get('swap', '') or kpt['name']
        back = keypoints[names[swap]].get('swap', '') or swap
        if back != kpt['name']:
            fail(
                f'keypoint_info[{kpt_id}] ({kpt["name"]!r}) swaps with '
                f'{swap!r}, but {swap!r} swaps with {back!r} (a flip would '
                'move keypoints onto the wrong ones)',
                f'each pair named both ways: {kpt["name"]!r} with '
                f'swap={swap!r} and {swap!r} with swap={kpt["name"]!r}',
            )
    links = info['skeleton_info']
    if not isinstance(links, Mapping):
        fail('skeleton_info is not a dict of links by id')
    for link_id, link in links.items():
        ends = link.get('link') if isinstance(link, Mapping) else None
        if (
            not isinstance(ends, (list, tuple))
            or len(ends) != 2
            or any(end not in names for end in ends)
        ):
            fail(
                f'skeleton_info[{link_id}] = {link!r} does not link two '
                'of its keypoints',
                f'link=(name, name) with names among {sorted(names)}',
            )
    # sigmas: OKS (CocoMetric) fails on another length only after a whole
    # training interval; empty is mmpose's "none" (datasets not scored by
    # OKS). joint_weights are read only with use_dataset_keypoint_weights
    # (mmpose's own coco_aic.py has 18 for 19 keypoints): left to mmpose.
    try:
        length = len(info['sigmas'])
    except TypeError:
        length = None
    if length not in (0, count):
        fail(
            f'sigmas has {length} entries for {count} keypoints',
            'one per keypoint, in the order of keypoint_info (or [] for '
            'none: a dataset not scored by OKS)',
        )
