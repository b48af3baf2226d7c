# The segmentation demo: Lite-HRNet-18 with the Cityscapes configs' model
# (6 classes here) trained from scratch on 64x64 images of
# litehrnet_mm.data.synthetic_seg, on CPU in minutes: 600 iterations of 16
# images. tools/demo/seg_demo.py generates the data (at crop_size, into
# work_dirs/demo/seg/data), trains, tests and draws.
_base_ = [
    '../seg/_base_/fcn_litehrnet-18.py',
    'mmseg::_base_/default_runtime.py',
]
crop_size = (64, 64)
num_classes = 6
max_iters = 600
data_root = 'work_dirs/demo/seg/data'
metainfo = dict(
    classes=('background', 'disc', 'square', 'triangle', 'ring', 'cross'),
    palette=[
        [0, 0, 0],
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
    ],
)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=crop_size,
        ratio_range=(0.75, 1.5),
        keep_ratio=True,
    ),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='litehrnet_mm.BaseSegDataset',
    data_root=data_root,
    metainfo=metainfo,
    img_suffix='.png',
    seg_map_suffix='.png',
)
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        **dataset,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'
        ),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        **dataset,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# Adam learns this small problem from scratch in far fewer iterations than
# the paper's SGD; poly decay as in the paper, after a short warm-up.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-3, weight_decay=1e-4),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=50, by_epoch=False),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-5,
        begin=50,
        end=max_iters,
        by_epoch=False,
    ),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # the head fits the dataset's classes (configs/seg/*)
    check_data=dict(type='litehrnet_mm.CheckDataFitsModel'),
)
randomness = dict(seed=0)
