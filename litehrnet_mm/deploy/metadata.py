"""What inference needs, read from a config at export time.

:func:`config_metadata` reads the task, the input normalisation, and the
keypoints and skeleton or the classes and palette from an mmpose or mmseg
config (it needs the host's registries); the exporter stores it with the
artifact, so running it later needs only numpy, OpenCV and a runtime
(:mod:`litehrnet_mm.deploy.predict`).
"""

from typing import Dict

import numpy as np

from litehrnet_mm.datasets.pose_metainfo import check_pose_metainfo
from litehrnet_mm.hooks import check_head_fits

__all__ = ['BOX_PADDING', 'config_metadata']

#: How much mmpose's GetBBoxCenterScale grows a person's box by default.
BOX_PADDING = 1.25


def config_metadata(cfg) -> Dict[str, object]:
    """What inference needs, read from an mmengine ``Config`` of our pose
    or seg models (dataset meta from the dataset class or its
    ``metainfo``)."""
    from mmengine.registry import init_default_scope

    from litehrnet_mm.analysis.models import scope_of

    pre = cfg.model.get('data_preprocessor', {})
    meta: Dict[str, object] = dict(
        mean=[float(v) for v in pre.get('mean', [0.0, 0.0, 0.0])],
        std=[float(v) for v in pre.get('std', [1.0, 1.0, 1.0])],
        bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)),
    )
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {})
    scope = scope_of(cfg)
    init_default_scope(scope)
    if scope == 'mmseg':
        from mmseg.registry import DATASETS

        info = {}
        if 'type' in dataset:
            info.update(DATASETS.get(dataset['type']).METAINFO)
        info.update(dataset.get('metainfo') or {})
        if 'classes' not in info:
            # A config without a dataset: classes by number.
            num = int(cfg.model.decode_head.num_classes)
            info['classes'] = [str(i) for i in range(num)]
        else:
            # A head for another number of classes than the dataset's.
            check_head_fits(
                'seg',
                cfg.model.get('decode_head', {}).get('num_classes'),
                info['classes'],
                "the test dataset's metainfo",
            )
        if 'palette' not in info:
            rng = np.random.default_rng(0)
            info['palette'] = rng.integers(0, 255, (len(info['classes']), 3))
        meta.update(
            task='seg',
            classes=list(info['classes']),
            palette=[[int(c) for c in p] for p in info['palette']],
        )
        return meta
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.registry import DATASETS

    # The box around the person grows by this factor before the affine,
    # as the test pipeline's GetBBoxCenterScale does.
    meta['box_padding'] = BOX_PADDING
    for step in dataset.get('pipeline') or []:
        if str(step.get('type', '')).endswith('GetBBoxCenterScale'):
            meta['box_padding'] = float(step.get('padding', BOX_PADDING))
    info = dataset.get('metainfo')
    if info is None and 'type' in dataset:
        info = DATASETS.get(dataset['type']).METAINFO
    if info is None:
        # A config without a dataset: keypoints by number, no skeleton.
        num = int(cfg.model.head.out_channels)
        meta.update(
            task='pose',
            keypoints=[str(i) for i in range(num)],
            skeleton=[],
            keypoint_colors=[[255, 128, 0]] * num,
            link_colors=[],
        )
        return meta
    # The metainfo's own mistakes named as the dataset names them.
    check_pose_metainfo(dict(info), 'export')
    info = parse_pose_metainfo(dict(info))
    names = info['keypoint_id2name']
    check_head_fits(
        'pose',
        cfg.model.get('head', {}).get('out_channels'),
        [names[i] for i in range(info['num_keypoints'])],
        f"the test dataset's metainfo ({info['dataset_name']})",
    )
    meta.update(
        task='pose',
        keypoints=[names[i] for i in range(info['num_keypoints'])],
        skeleton=[[int(a), int(b)] for a, b in info['skeleton_links']],
        keypoint_colors=np.asarray(info['keypoint_colors']).tolist(),
        link_colors=np.asarray(info['skeleton_link_colors']).tolist(),
    )
    return meta
