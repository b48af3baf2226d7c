"""Lite-HRNet-18 on MPII at 256x256 (paper: 85.4 PCKh, mmpose: 85.9)."""

_base_ = ['../_base_/td-hm_litehrnet_mpii-256x256.py']

model = dict(backbone=dict(arch='18'), head=dict(in_channels=40))
