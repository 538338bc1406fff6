"""Render docs/settings.png and docs/about.png: the real dialogs with default settings, under Xvfb.

Run: xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python docs/make_dialog_screenshots.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QDialog  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.ui.about_dialog import AboutDialog  # noqa: E402
from mediasearch.ui.settings_dialog import SettingsDialog  # noqa: E402
from mediasearch.ui.style import apply_style  # noqa: E402

DIALOGS: dict[str, type[QDialog]] = {"settings.png": SettingsDialog, "about.png": AboutDialog}


def main() -> None:
    app = QApplication([sys.argv[0]])
    apply_style(app)
    for name, dialog_class in DIALOGS.items():
        dialog = dialog_class(Settings())  # type: ignore[call-arg]
        dialog.show()
        for _ in range(20):
            app.processEvents()
        out = ROOT / "docs" / name
        dialog.grab().save(str(out))
        dialog.close()
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
