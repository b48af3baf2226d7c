"""Lite-HRNet-30 on COCO at 256x192 (paper: 67.2 AP, mmpose: 67.6)."""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

model = dict(backbone=dict(arch='30'), head=dict(in_channels=40))
