"""Host models built around our backbone, for the tests that need one."""

import pytest


def topdown_pose_model(arch='18', input_size=(192, 256), test_cfg=None):
    """mmpose's TopdownPoseEstimator with ``litehrnet_mm.LiteHRNet`` and a
    heatmap head at 1/4 of ``input_size`` (w, h); skips without mmpose."""
    pytest.importorskip('mmpose')
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    from litehrnet_mm import LiteHRNet

    register_all_modules()
    (channels,) = LiteHRNet(arch=arch, init_cfg=None).out_channels
    w, h = input_size
    return MODELS.build(
        dict(
            type='TopdownPoseEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor'),
            backbone=dict(type='litehrnet_mm.LiteHRNet', arch=arch),
            head=dict(
                type='HeatmapHead',
                in_channels=channels,
                out_channels=17,
                deconv_out_channels=None,
                loss=dict(type='KeypointMSELoss', use_target_weight=True),
                decoder=dict(
                    type='MSRAHeatmap',
                    input_size=(w, h),
                    heatmap_size=(w // 4, h // 4),
                    sigma=2,
                ),
            ),
            test_cfg=test_cfg,
        )
    )
