"""Lite-HRNet-18 on COCO at 384x288 (paper: 67.6 AP, mmpose: 67.6).

8 GPUs x 32 images, the batch of the official 384x288 configs, which
trained at the base lr 2e-3: ``auto_scale_lr`` scales from 8 x 32 = 256.
"""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

# sigma 3 keeps the Gaussian's size relative to the person as at 256x192.
codec = dict(
    type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3
)
model = dict(
    backbone=dict(arch='18'), head=dict(in_channels=40, decoder=codec)
)

# The base's pipelines, written out with this codec: a pipeline patched by
# index would silently break when the base changes its order.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(
        type='RandomBBoxTransform', rotate_factor=60, scale_factor=(0.75, 1.25)
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

train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

auto_scale_lr = dict(base_batch_size=256)
