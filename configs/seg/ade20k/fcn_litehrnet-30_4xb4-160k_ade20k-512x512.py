_base_ = './fcn_litehrnet-18_4xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(arch='30'))
# Before the first step of a run: decode_head.num_classes is the number
# of the dataset's classes (a config for your own classes that forgets it
# gets one error naming it, not a silent run or an error inside the loss).
default_hooks = dict(check_data=dict(type='litehrnet_mm.CheckDataFitsModel'))
