"""Lite-HRNet-30 on COCO at 384x288 (paper: 70.4 AP, mmpose: 70.0)."""

_base_ = ['./td-hm_litehrnet-18_8xb32-210e_coco-384x288.py']

model = dict(backbone=dict(arch='30'))
