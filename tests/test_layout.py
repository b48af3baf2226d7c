"""The tests mirror the package: every module ``litehrnet_mm/a/b/m.py`` has
its test module ``tests/test_a/test_b/test_m.py``, and every test folder is
a package (``__init__.py``), so that tests import as ``tests.…``.

Read from the tree, like the import-direction rule of
tests/test_models/test_one_way_imports.py."""

from tests.conftest import REPO

PACKAGE = REPO / 'litehrnet_mm'
TESTS = REPO / 'tests'


def mirrored(module):
    """The test module that ``module`` (a path under the package) needs."""
    parts = module.relative_to(PACKAGE).with_suffix('').parts
    return TESTS.joinpath(*(f'test_{p}' for p in parts[:-1])) / (
        f'test_{parts[-1]}.py'
    )


def test_every_package_module_has_its_test_module():
    modules = sorted(
        p for p in PACKAGE.rglob('*.py') if p.name != '__init__.py'
    )
    assert len(modules) > 50, 'the walk found too few modules'
    missing = [
        f'{m.relative_to(REPO)} -> {mirrored(m).relative_to(REPO)}'
        for m in modules
        if not mirrored(m).is_file()
    ]
    assert not missing, 'package modules without their test module:\n' + (
        '\n'.join(missing)
    )


def test_every_test_folder_is_a_package():
    folders = [TESTS] + sorted(
        d
        for d in TESTS.rglob('*')
        if d.is_dir() and d.name.startswith('test_')
    )
    missing = [
        str(d.relative_to(REPO))
        for d in folders
        if not (d / '__init__.py').is_file()
    ]
    assert not missing, 'test folders without __init__.py:\n' + (
        '\n'.join(missing)
    )
