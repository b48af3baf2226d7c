"""Wider Naive Lite-HRNet-18 on MPII at 256x256 (paper: 86.8 PCKh)."""

_base_ = ['../_base_/td-hm_litehrnet_mpii-256x256.py']

model = dict(backbone=dict(arch='wider-naive-18'), head=dict(in_channels=40))
