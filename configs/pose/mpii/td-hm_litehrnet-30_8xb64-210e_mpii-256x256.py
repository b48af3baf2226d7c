"""Lite-HRNet-30 on MPII at 256x256 (paper: 87.0 PCKh, mmpose: 86.9)."""

_base_ = ['../_base_/td-hm_litehrnet_mpii-256x256.py']

model = dict(backbone=dict(arch='30'), head=dict(in_channels=40))
