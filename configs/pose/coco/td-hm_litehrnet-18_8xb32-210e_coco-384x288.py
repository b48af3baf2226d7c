"""Lite-HRNet-18 on COCO at 384x288 (paper: 67.6 AP, mmpose: 67.6).

8 GPUs x 32 images: the paper's batch, so the base lr needs no scaling.
"""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

# sigma 3 keeps the Gaussian's size relative to the person as at 256x192.
codec = dict(
    type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3
)
model = dict(
    backbone=dict(arch='18'), head=dict(in_channels=40, decoder=codec)
)

train_pipeline = _base_.train_pipeline
train_pipeline[5] = dict(type='TopdownAffine', input_size=codec['input_size'])
train_pipeline[6] = dict(type='GenerateTarget', encoder=codec)
val_pipeline = _base_.val_pipeline
val_pipeline[2] = dict(type='TopdownAffine', input_size=codec['input_size'])

train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
