_base_ = './fcn_litehrnet-18_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(arch='30'))
