"""The core and the CLI must import with PySide6 unavailable (headless servers, the CLI)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import mediasearch

SCRIPT = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    class BlockQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "shiboken6"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockQt())
    import mediasearch.core
    names = ["mediasearch.cli", "mediasearch.config"]
    for info in pkgutil.walk_packages(mediasearch.core.__path__, "mediasearch.core."):
        names.append(info.name)
    for name in names:
        importlib.import_module(name)
    assert not any(m.split(".")[0] in ("PySide6", "shiboken6") for m in sys.modules)
    print("imported", len(names))
    """
)


def test_core_and_cli_import_without_qt() -> None:
    root = Path(mediasearch.__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout
