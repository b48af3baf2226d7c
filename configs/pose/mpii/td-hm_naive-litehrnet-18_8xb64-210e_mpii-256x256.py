"""Naive Lite-HRNet-18 on MPII at 256x256 (paper: 85.3 PCKh).

Its branches are 30/60/120/240 channels wide, so the head reads 30
channels (the official config declares 40, which does not build).
"""

_base_ = ['../_base_/td-hm_litehrnet_mpii-256x256.py']

model = dict(backbone=dict(arch='naive-18'), head=dict(in_channels=30))
