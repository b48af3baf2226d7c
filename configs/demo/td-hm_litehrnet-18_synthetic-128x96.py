"""Lite-HRNet-18 on the synthetic pose dataset, sized for a CPU demo.

``tools/demo/pose_demo.py`` generates the data under ``data_root`` and runs
this config through ``mim train`` and ``mim test``. 128x96 crops and a
short schedule keep it within minutes on 2 cores; the backbone and the
evaluation (COCO keypoint AP, ground-truth boxes) are the COCO configs',
the head has one deconv more (below), so a checkpoint of this config
fits this config, not the COCO ones (whose head would stay untrained).
"""

_base_ = ['../pose/_base_/td-hm_litehrnet_coco-256x192.py']

data_root = 'work_dirs/demo/pose/data/'

# Epochs of ~1900 figures. Adam at twice the paper's 2e-3 with a cosine
# decay: a short run from scratch on a batch of 32.
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs + 1)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=4e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(
        type='CosineAnnealingLR',
        begin=0,
        end=max_epochs,
        eta_min=4e-5,
        by_epoch=True,
    ),
]
auto_scale_lr = dict(base_batch_size=32)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(interval=max_epochs, save_best=None, max_keep_ckpts=1),
)
custom_hooks = []  # no SyncBuffersHook: one process
log_processor = dict(window_size=10)

# Heatmaps at 1/2 of the input (one deconv in the head) rather than 1/4:
# at 128x96 a 32x24 heatmap is too coarse for COCO's OKS, and the deconv
# costs little next to the backbone. DARK (unbiased) decoding for the
# sub-pixel peak.
codec = dict(
    type='MSRAHeatmap',
    input_size=(96, 128),
    heatmap_size=(48, 64),
    sigma=2,
    unbiased=True,
)
model = dict(
    backbone=dict(arch='18'),
    head=dict(
        in_channels=40,
        deconv_out_channels=(24,),
        deconv_kernel_sizes=(4,),
        decoder=codec,
    ),
)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    # No half-body crops: the evaluation uses whole ground-truth boxes.
    dict(
        type='RandomBBoxTransform', rotate_factor=30, scale_factor=(0.8, 1.2)
    ),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/train/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/val.json',
        bbox_file=None,
        data_prefix=dict(img='images/val/'),
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
