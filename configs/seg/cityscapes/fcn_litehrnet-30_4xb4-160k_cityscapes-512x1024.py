_base_ = './fcn_litehrnet-18_4xb4-160k_cityscapes-512x1024.py'
model = dict(backbone=dict(arch='30'))
