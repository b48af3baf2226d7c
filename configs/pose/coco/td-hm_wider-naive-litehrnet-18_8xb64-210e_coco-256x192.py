"""Wider Naive Lite-HRNet-18 on COCO at 256x192 (paper: 66.0 AP)."""

_base_ = ['../_base_/td-hm_litehrnet_coco-256x192.py']

model = dict(backbone=dict(arch='wider-naive-18'), head=dict(in_channels=40))
