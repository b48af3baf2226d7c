"""The version (version.py): one number, read by the package and by
pyproject (dynamic version), so the installed metadata agrees."""

import importlib.metadata
import re

import litehrnet_mm
from litehrnet_mm.version import __version__
from tests.conftest import REPO


def test_the_package_and_its_metadata_say_the_same_version():
    assert litehrnet_mm.__version__ == __version__
    assert importlib.metadata.version('litehrnet_mm') == __version__
    assert re.fullmatch(r'\d+\.\d+\.\d+', __version__)


def test_pyproject_reads_it_from_version_py():
    pyproject = (REPO / 'pyproject.toml').read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'attr = "litehrnet_mm.version.__version__"' in pyproject
