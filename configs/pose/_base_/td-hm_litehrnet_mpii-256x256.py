"""Lite-HRNet on MPII, 256x256 crops, evaluated by PCKh@0.5.

The data is a folder in mmpose's MPII layout (``images/``,
``annotations/mpii_{train,val}.json`` and ``annotations/mpii_gt_val.mat``
with the head boxes of the validation split).
Elsewhere: a config of your own sets the loaders' and evaluators' fields
(the README's pose section); the variables below are resolved in this file.
"""

_base_ = ['./td-hm_litehrnet_210e.py']

default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))

codec = dict(
    type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2
)
model = dict(head=dict(out_channels=16, decoder=codec))

# mmpose's MpiiDataset with its files checked first: a wrong data_root gets
# one error naming the path.
dataset_type = 'litehrnet_mm.MpiiDataset'
data_mode = 'topdown'
data_root = 'data/mpii/'
train_ann_file = 'annotations/mpii_train.json'
val_ann_file = 'annotations/mpii_val.json'
val_headbox_file = 'annotations/mpii_gt_val.mat'

# As for COCO, without the half-body crops and the box shift: MPII boxes
# come from a center and a scale, not from a detector.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0,
        rotate_factor=60,
        scale_factor=(0.75, 1.25),
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

# The official MPII configs trained at the base lr 2e-3 with 8 GPUs x 32
# images: ``auto_scale_lr`` scales from 8 x 32 = 256. These configs keep
# the 8 x 64 of mmpose's MPII release (and of its names): run them with
# ``--auto-scale-lr`` for the official lr per image (4e-3 at 8 x 64).
auto_scale_lr = dict(base_batch_size=256)
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file=train_ann_file,
        data_prefix=dict(img='images/'),
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
        ann_file=val_ann_file,
        # mmpose reads headbox_file as given (not under data_root).
        headbox_file=data_root + val_headbox_file,
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
