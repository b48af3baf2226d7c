"""Constants and fixtures shared by the test suite.

Test modules import the constants one way: ``from tests.conftest import
REPO`` (the repository root is on ``sys.path`` under pytest's rootdir
conftest rules and ``python -m pytest``).

The end-to-end tests are marked ``slow`` (``make test-fast`` leaves them
out). The costly part of them is ``mim``: every run starts interpreters
that import torch and both hosts. So each capability trains once per
session, in a session fixture that its tests share: :func:`pose_run` (one
``mim train mmpose`` of a user's config) and :func:`seg_run` (one ``mim
train mmseg``). Under pytest-xdist every worker has its own session: the
first worker to need a run trains it, under a file lock, and the others
reuse its work_dir; and xdist's default ``--dist load`` becomes
``loadgroup`` (:func:`pytest_configure`), which keeps each run's tests on
one worker (their ``xdist_group``), so that no worker waits on the other.
Every other module is a group of its own (:func:`module_groups`): a
module's fixtures are set up once, not once per worker that takes one of
its tests.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from litehrnet_mm.utils.mim import child_env, run_mim

REPO = Path(__file__).resolve().parents[1]
# ../shared/data: real COCO, MPII and Cityscapes samples (never packaged);
# LITEHRNET_MM_SAMPLES points a clone elsewhere at them (the tests that
# need them are skipped where there are none).
SHARED_DATA = Path(
    os.environ.get('LITEHRNET_MM_SAMPLES', REPO.parent / 'shared' / 'data')
)
DEMO_CONFIGS = REPO / 'configs' / 'demo'
POSE_DEMO = DEMO_CONFIGS / 'td-hm_litehrnet-18_synthetic-128x96.py'
SEG_DEMO = (
    DEMO_CONFIGS / 'fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py'
)

PRESETS = ('18', '30', 'naive-18', 'wider-naive-18')


def pytest_configure(config):
    # Not in pyproject's addopts: `--dist` without `-n` is an error there.
    # The controller schedules by group; each worker tags its tests' groups
    # (xdist decides that from the worker's own arguments, before this).
    if getattr(config.option, 'dist', 'no') == 'load':
        config.option.dist = 'loadgroup'
    chosen = any(
        a == '-d' or a.startswith('--dist')
        for a in config.invocation_params.args
    )
    if os.environ.get('PYTEST_XDIST_WORKER') and not chosen:
        config.option.loadgroup = True
    # Groups go out in collection order (the slow ones first, below), not
    # by their number of tests.
    if not chosen:
        config.option.loadscopereorder = False
    config.pluginmanager.register(GroupTags(), 'litehrnet-group-tags')


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Before xdist tags the grouped tests: the modules with slow tests
    first, the two session runs' groups leading, each module's tests kept
    together, and every test that names no group grouped by its module."""
    slow = {i.path for i in items if i.get_closest_marker('slow')}
    runs = {
        i.path for i in items if {'pose_run', 'seg_run'} & set(i.fixturenames)
    }
    items.sort(key=lambda i: (i.path not in runs, i.path not in slow))
    if getattr(config.option, 'loadgroup', False):
        module_groups(items, config.rootpath)


def module_groups(items, root):
    """Put each test without an ``xdist_group`` in its module's group."""
    for item in items:
        if not item.get_closest_marker('xdist_group'):
            name = item.path.relative_to(root).as_posix()
            item.add_marker(pytest.mark.xdist_group(name))


class GroupTags:
    """pytest-xdist 3.8 tags a grouped test by setting ``item._nodeid``
    to ``nodeid@group``; pytest 9 reads a node's id from ``item._id``, so
    the tag was lost and ``loadgroup`` scheduled like ``load``. Carries the
    tag over, after xdist (a no-op where xdist and pytest agree)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        from _pytest.nodeid import coerce_node_id

        for item in items:
            tagged = getattr(item, '_nodeid', None)
            if tagged and tagged != item.nodeid and hasattr(item, '_id'):
                item._id = coerce_node_id(tagged)


def generated_seg_config(root, num_train: int, num_val: int, seed: int = 0):
    """The seg demo's config on ``num_train`` + ``num_val`` images
    generated into ``root``, its loaders in this process."""
    from mmengine.config import Config

    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset

    generate_seg_dataset(
        str(root), num_train, num_val, size=(64, 64), seed=seed
    )
    cfg = Config.fromfile(str(SEG_DEMO))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    return cfg


def load_tool(relative: str):
    """The module of a command-line tool (``tools/...py``, not a package),
    loaded from its file, so that a test calls its ``main()`` in this
    process."""
    import importlib.util

    path = REPO / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def subprocess_env():
    """Environment for a child Python that imports this checkout."""
    return child_env()


@pytest.fixture
def python():
    return sys.executable


@pytest.fixture
def run_python(python, subprocess_env):
    """Runs code in a fresh Python that imports this checkout and returns
    what it printed; its failure fails the test."""

    def run(code: str) -> str:
        return subprocess.run(
            [python, '-c', code],
            env=subprocess_env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    return run


def user_config(base, path, **overrides):
    """Our config ``base`` flattened into one file of a user's, without
    ``custom_imports`` (the backbone still named
    ``litehrnet_mm.LiteHRNet``), with ``overrides`` merged in."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(base))
    cfg.pop('custom_imports')
    cfg.merge_from_dict(overrides)
    cfg.dump(str(path))
    assert 'custom_imports' not in path.read_text()
    assert "'litehrnet_mm.LiteHRNet'" in path.read_text()
    return path


def shared_run(tmp_path_factory, name, train):
    """``train(root)`` (a dict of paths and the log), run once per test
    session across pytest-xdist workers: in a folder that all workers
    share, under a file lock; a worker that finds the result recorded
    reuses it. Paths come back as ``Path``."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        base = base.parent  # this session's, above the workers' own
    root = base / name
    record = root / 'run.json'
    with FileLock(str(base / f'{name}.lock')):
        if not record.is_file():
            root.mkdir(exist_ok=True)
            record.write_text(json.dumps(train(root)))
    run = json.loads(record.read_text())
    return {k: v if k == 'log' else Path(v) for k, v in run.items()}


def mim_train(host, base, root, data, checkpoint, **overrides):
    """``mim train HOST`` of ``base`` made a user's config (with
    ``overrides``) in ``root``, logging every iteration and saving a
    checkpoint at every interval: the run's paths and its log."""
    config = user_config(
        base,
        root / f'my_{host}.py',
        default_hooks=dict(
            logger=dict(interval=1), checkpoint=dict(interval=1)
        ),
        **overrides,
    )
    work = root / 'work'
    log = run_mim(
        ['train', host, config, '--gpus', '0', '--work-dir', work], cwd=root
    )
    return dict(
        root=str(root),
        data=str(data),
        config=str(config),
        work=str(work),
        checkpoint=str(work / checkpoint),
        log=log,
    )


def _pose_train(root):
    from litehrnet_mm.data.synthetic_pose import generate_pose_dataset

    data = root / 'data'
    generate_pose_dataset(
        str(data), num_train=6, num_val=3, image_size=(128, 128)
    )
    loader = dict(batch_size=4, num_workers=0, persistent_workers=False)
    dataset = dict(dataset=dict(data_root=f'{data}/'), **loader)
    evaluator = dict(ann_file=f'{data}/annotations/val.json')
    run = mim_train(
        'mmpose',
        POSE_DEMO,
        root,
        data,
        'epoch_1.pth',
        train_cfg=dict(max_epochs=1, val_interval=1),
        train_dataloader=dataset,
        val_dataloader=dataset,
        test_dataloader=dataset,
        val_evaluator=evaluator,
        test_evaluator=evaluator,
    )
    # The same model and data with our configs' custom_imports.
    run['with_imports'] = str(root / 'with_imports.py')
    Path(run['with_imports']).write_text(
        f'_base_ = [{run["config"]!r}]\ncustom_imports = dict('
        "imports=['litehrnet_mm'], allow_failed_imports=False)\n"
    )
    return run


@pytest.fixture(scope='session')
def pose_run(tmp_path_factory):
    """One epoch of ``mim train mmpose`` of a user's config (our demo
    config flattened, without ``custom_imports``) on 6 generated images,
    validated at its end; ``with_imports`` is the same config with our
    configs' ``custom_imports``."""
    return shared_run(tmp_path_factory, 'pose_run', _pose_train)


def _seg_train(root):
    from litehrnet_mm.data.synthetic_seg import generate_seg_dataset

    data = root / 'data'
    generate_seg_dataset(str(data), 4, 3, size=(64, 64), seed=1)
    loader = dict(num_workers=0, persistent_workers=False)
    dataset = dict(data_root=str(data))
    return mim_train(
        'mmseg',
        SEG_DEMO,
        root,
        data,
        'iter_2.pth',
        train_cfg=dict(max_iters=2, val_interval=2),
        train_dataloader=dict(batch_size=2, dataset=dataset, **loader),
        val_dataloader=dict(batch_size=3, dataset=dataset, **loader),
        test_dataloader=dict(batch_size=3, dataset=dataset, **loader),
    )


@pytest.fixture(scope='session')
def seg_run(tmp_path_factory):
    """Two iterations of ``mim train mmseg`` of a user's config (our demo
    config flattened, without ``custom_imports``) on 4 generated images,
    a checkpoint after each, validated at the end."""
    return shared_run(tmp_path_factory, 'seg_run', _seg_train)
