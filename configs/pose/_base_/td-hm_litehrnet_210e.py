"""Top-down heatmap Lite-HRNet: model and the paper's training schedule.

The dataset bases (COCO, MPII) add the codec, the pipelines and the
evaluator; the variant files pick the backbone preset and the input size.
"""

_base_ = ['mmpose::_base_/default_runtime.py']

# Not needed to find the backbone: `litehrnet_mm.LiteHRNet` resolves through
# the litehrnet_mm registry scope. The inferencers (MMPoseInferencer,
# MMSegInferencer) load the checkpoint before they build the model, so
# importing litehrnet_mm first is what allowlists the types `mim train`
# writes into checkpoints for torch.load(weights_only=True) (torch >= 2.6).
custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

train_cfg = dict(max_epochs=210, val_interval=10)

# Before the first step of a run: the head returns one heatmap per keypoint
# of the dataset's metainfo (a config for your own keypoints that forgets
# model.head.out_channels gets one error naming it, not a shape mismatch
# inside the loss).
default_hooks = dict(check_data=dict(type='litehrnet_mm.CheckDataFitsModel'))

# The paper's optimizer: Adam at 2e-3 (mmpose's port lowers it to 5e-4).
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))

# The paper's schedule: linear warm-up over 500 iterations, then x0.1 at
# epochs 170 and 200 of 210.
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False
    ),
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True,
    ),
]

# The lr 2e-3 belongs to the batch of the official config it comes from:
# each dataset base (and the 384x288 configs) sets auto_scale_lr to that
# batch, so `--auto-scale-lr` scales the lr linearly from it.
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18'),
    head=dict(
        type='HeatmapHead',
        # The channels of the backbone's output (LiteHRNet.out_channels):
        # 40 for Lite-HRNet-18/30 and Wider Naive, 30 for Naive.
        in_channels=40,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
    ),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True),
)
