# Lite-HRNet-18 with an HRNetV2-style head: every branch is upsampled to
# 1/4 resolution and concatenated, then one 1x1 conv and the classifier.
# SyncBN for multi-GPU runs; on a single process mmengine's runner turns it
# into plain BN (revert_sync_batchnorm), and so does MMSegInferencer.
# Not needed to find the backbone: `litehrnet_mm.LiteHRNet` resolves through
# the litehrnet_mm registry scope. The inferencers (MMPoseInferencer,
# MMSegInferencer) load the checkpoint before they build the model, so
# importing litehrnet_mm first is what allowlists the types `mim train`
# writes into checkpoints for torch.load(weights_only=True) (torch >= 2.6).
custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
# The iterative head is kept (as in the pose presets): it turns the branch
# channels 40/80/160/320 into 40/40/80/160, so the head's concat and its 1x1
# conv have 320 channels instead of 600. Measured at 512x1024 (torch
# FlopCounterMode, MACs): with it 1.24M params, 5.65 GMACs for
# Lite-HRNet-18; without it 1.43M params, 14.11 GMACs, 12.2 G of them in
# the 600-channel 1x1 conv (tools/analysis/seg_complexity.py).
branch_channels = [40, 40, 80, 160]
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='litehrnet_mm.LiteHRNet',
        arch='18',
        out_indices=(0, 1, 2, 3),
        with_head=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
    ),
    decode_head=dict(
        type='FCNHead',
        in_channels=branch_channels,
        in_index=(0, 1, 2, 3),
        channels=sum(branch_channels),
        input_transform='resize_concat',
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0
        ),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
