"""One ruff for everyone: pre-commit's hook, `make install`
(requirements/tests.txt) and the ``[tests]`` extra pin the same version,
so that the formatter a contributor runs is the one CI checks with."""

import re
import tomllib

from tests.conftest import REPO


def _pin(lines, name):
    (version,) = [
        m.group(1)
        for line in lines
        if (
            m := re.fullmatch(
                rf'{name}==([0-9][0-9.]*)', line.split('#')[0].strip()
            )
        )
    ]
    return version


def test_ruff_is_pinned_once_for_all():
    hooks = (REPO / '.pre-commit-config.yaml').read_text()
    (hook,) = re.findall(r'astral-sh/ruff-pre-commit\s+rev: v([0-9.]+)', hooks)
    tests_txt = (REPO / 'requirements' / 'tests.txt').read_text().splitlines()
    pyproject = tomllib.loads((REPO / 'pyproject.toml').read_text())
    extra = pyproject['project']['optional-dependencies']['tests']
    assert _pin(tests_txt, 'ruff') == _pin(extra, 'ruff') == hook


def test_the_tests_extra_installs_what_make_install_does():
    tests_txt = [
        re.split('[=<>]', line.split('#')[0].strip())[0]
        for line in (REPO / 'requirements' / 'tests.txt')
        .read_text()
        .splitlines()
        if line.split('#')[0].strip()
    ]
    pyproject = tomllib.loads((REPO / 'pyproject.toml').read_text())
    extra = [
        re.split('[=<>]', r)[0]
        for r in pyproject['project']['optional-dependencies']['tests']
    ]
    assert sorted(tests_txt) == sorted(extra)
    assert {'ruff', 'pre-commit', 'pytest-xdist'} <= set(extra)
