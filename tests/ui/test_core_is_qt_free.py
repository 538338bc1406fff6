"""The core and the CLI must import with PySide6 unavailable (headless servers, the CLI)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import mediasearch

# Prepended to a child's script: any import of Qt fails, as on a machine without it.
BLOCK_QT = textwrap.dedent(
    """
    import sys

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockQt())
    """
)
NO_QT_LOADED = (
    '\nassert not any(m.split(".")[0] in ("PySide6", "shiboken6") for m in sys.modules)\n'
)

SCRIPT = (
    BLOCK_QT
    + textwrap.dedent(
        """
    import importlib, pkgutil
    import mediasearch.core
    import mediasearch.selftest

    # The CLI, the core, and what the CLI, the installers' scripts and the self-test share.
    names = ["mediasearch.cli", "mediasearch.config", "mediasearch.about", "mediasearch.frozen"]
    for package in (mediasearch.core, mediasearch.selftest):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    for name in names:
        importlib.import_module(name)
    """
    )
    + NO_QT_LOADED
    + 'print("imported", len(names))\n'
)


def test_core_and_cli_import_without_qt() -> None:
    root = Path(mediasearch.__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout
