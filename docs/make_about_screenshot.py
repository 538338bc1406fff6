"""Render docs/about.png: the real About dialog with default settings, under Xvfb.

Run: xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/make_about_screenshot.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.ui.about_dialog import AboutDialog  # noqa: E402
from mediasearch.ui.style import apply_style  # noqa: E402

OUT = ROOT / "docs" / "about.png"


def main() -> None:
    app = QApplication([sys.argv[0]])
    apply_style(app)
    dialog = AboutDialog(Settings())
    dialog.show()
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(OUT))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
