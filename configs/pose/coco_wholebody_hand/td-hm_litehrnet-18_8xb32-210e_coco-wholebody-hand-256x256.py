"""Lite-HRNet-18 on COCO-WholeBody-Hand, 256x256 crops, 21 keypoints.

The counterpart of mmpose's ``td-hm_litehrnet-w18_8xb32-210e_coco-wholebody-
hand-256x256`` (PCK@0.2 0.795, AUC 0.830, EPE 4.77), whose published weights
load here. The official code has no hand config, so the recipe is mmpose's:
Adam at 5e-4 for 8 GPUs x 32 images, 210 epochs.

The data is a COCO folder with ``train2017/``, ``val2017/`` and
the COCO-WholeBody annotations ``annotations/coco_wholebody_{train,val}_
v1.0.json``; mmpose's ``CocoWholeBodyHandDataset`` crops every hand box.
Elsewhere: a config of your own sets the loaders' and evaluators' fields
(the README's pose section); the variables below are resolved in this file.
"""

_base_ = ['../_base_/td-hm_litehrnet_210e.py']

default_hooks = dict(checkpoint=dict(save_best='AUC', rule='greater'))

optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
# The lr belongs to mmpose's batch of 8 x 32 images.
auto_scale_lr = dict(base_batch_size=256)

codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2
)
model = dict(
    backbone=dict(arch='18'),
    head=dict(in_channels=40, out_channels=21, decoder=codec),
)

# mmpose's CocoWholeBodyHandDataset with its files checked first: a wrong
# data_root gets one error naming the path.
dataset_type = 'litehrnet_mm.CocoWholeBodyHandDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# Hands turn every way: rotation up to 180 degrees, scale 0.7-1.3.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(
        type='RandomBBoxTransform', rotate_factor=180, scale_factor=(0.7, 1.3)
    ),
    dict(type='RandomFlip', direction='horizontal'),
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/coco_wholebody_train_v1.0.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/coco_wholebody_val_v1.0.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='PCKAccuracy', thr=0.2),
    dict(type='AUC'),
    dict(type='EPE'),
]
test_evaluator = val_evaluator
