"""One version everywhere: the installers read pyproject.toml, the app shows __version__."""

from __future__ import annotations

import tomllib
from pathlib import Path

import mediasearch

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_package_version_is_the_one_the_installers_use() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert mediasearch.__version__ == project["version"]
