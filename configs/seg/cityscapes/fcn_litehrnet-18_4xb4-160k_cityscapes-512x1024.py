# Lite-HRNet-18 on Cityscapes, the paper's recipe: from scratch, SGD lr 0.01
# with poly decay and weight decay 5e-4 (the 160k schedule), batch 16 as 4
# GPUs x 4, random rescaling (0.5-2x), 512x1024 crops and flips (the
# dataset base).
_base_ = [
    '../_base_/fcn_litehrnet-18.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size))
# The host's dataset class with its folders checked first: a wrong
# data_root gets one error naming the path.
dataset_type = 'litehrnet_mm.CityscapesDataset'
train_dataloader = dict(batch_size=4, dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
# Before the first step of a run: decode_head.num_classes is the number
# of the dataset's classes (a config for your own classes that forgets it
# gets one error naming it, not a silent run or an error inside the loss).
default_hooks = dict(check_data=dict(type='litehrnet_mm.CheckDataFitsModel'))
