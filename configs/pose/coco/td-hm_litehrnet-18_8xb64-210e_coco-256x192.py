"""Lite-HRNet-18 on COCO at 256x192 (paper: 64.8 AP, mmpose: 64.2)."""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

model = dict(backbone=dict(arch='18'), head=dict(in_channels=40))
