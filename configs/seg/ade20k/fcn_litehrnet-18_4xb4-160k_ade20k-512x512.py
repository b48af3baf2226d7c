# Lite-HRNet-18 on ADE20K (150 classes), the Cityscapes recipe with the
# dataset base's 512x512 crops: from scratch, SGD lr 0.01 poly, weight
# decay 5e-4, 160k iterations, batch 16 as 4 GPUs x 4.
_base_ = [
    '../_base_/fcn_litehrnet-18.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=150),
)
# The host's dataset class with its folders checked first: a wrong
# data_root gets one error naming the path.
dataset_type = 'litehrnet_mm.ADE20KDataset'
train_dataloader = dict(batch_size=4, dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
# Before the first step of a run: decode_head.num_classes is the number
# of the dataset's classes (a config for your own classes that forgets it
# gets one error naming it, not a silent run or an error inside the loss).
default_hooks = dict(check_data=dict(type='litehrnet_mm.CheckDataFitsModel'))
