"""Naive Lite-HRNet-18 on COCO at 256x192 (paper: 62.8 AP).

Its branches are 30/60/120/240 channels wide, so the head reads 30
channels (the official config declares 40, which does not build).
"""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

model = dict(backbone=dict(arch='naive-18'), head=dict(in_channels=30))
