"""Render docs/screenshot.png: the real window on drawn shape photos, under Xvfb.

Run: xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python docs/make_screenshot.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from mediasearch.config import Settings  # noqa: E402
from mediasearch.core.library import Library  # noqa: E402
from mediasearch.selftest.shapes import write_shape_images  # noqa: E402
from mediasearch.ui.controller import MODEL_READY, Controller  # noqa: E402
from mediasearch.ui.main_window import MainWindow  # noqa: E402
from mediasearch.ui.results_model import ThumbnailRole  # noqa: E402
from mediasearch.ui.style import apply_style  # noqa: E402
from tests.support.tiny_model import tiny_model_dir  # noqa: E402

QUERY = "a red circle"
THRESHOLD = 0.5  # the tiny test model's scores; CLIP's own sit lower, see main_window
OUT = ROOT / "docs" / "screenshot.png"


def wait_until(app: QApplication, condition: object, timeout_ms: int = 60_000) -> None:
    timer = QElapsedTimer()
    timer.start()
    while not condition():  # type: ignore[operator]
        if timer.elapsed() > timeout_ms:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        QApplication.instance().thread().msleep(20)  # type: ignore[union-attr]


def open_searched_window(
    library: Library, settings: Settings, home: Path, work: Path, query: str, threshold: float
) -> tuple[QApplication, MainWindow]:
    """The real window over `library`, settled, with the results of `query` showing."""
    app = QApplication([sys.argv[0]])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work))
    QCoreApplication.setOrganizationName("mediasearch-shot")
    QCoreApplication.setApplicationName("mediasearch-shot")
    apply_style(app)
    controller = Controller(library, settings, home, watch=False)
    window = MainWindow(controller)
    window.resize(1280, 800)
    window.set_threshold(threshold, "text")
    window.show()
    controller.start()
    wait_until(app, lambda: controller.model_state == MODEL_READY and not controller.indexing)
    window.search_bar.set_text(query)
    window.search_bar.edit.returnPressed.emit()
    wait_until(app, lambda: window.model.rowCount() > 0)
    return app, window


def main() -> int:
    cache = Path(os.environ.get("MEDIASEARCH_TEST_MODEL_CACHE", "/tmp/ms-model-cache"))
    model = f"local-dir:{tiny_model_dir(cache)}"
    work = Path(tempfile.gettempdir()) / "mediasearch-demo"  # a short path for the preview
    shutil.rmtree(work, ignore_errors=True)
    photos = work / "Pictures"
    write_shape_images(photos / "Holidays", 150, seed=1, size=320)
    write_shape_images(photos / "Family", 90, seed=2, size=320)
    home = work / "home"
    settings = Settings(model=model, device="cpu", thumbnail_size=144)
    library = Library(home, model=model, device="cpu")
    library.index([str(photos / "Holidays"), str(photos / "Family")])

    app, window = open_searched_window(library, settings, home, work, QUERY, THRESHOLD)
    window.view.setCurrentIndex(window.model.index(0))
    window.toggle_preview()
    window.splitter.setSizes([210, 770, 300])
    visible = range(min(window.model.rowCount(), 24))
    wait_until(
        app,
        lambda: all(
            isinstance(window.model.index(r).data(ThumbnailRole), QPixmap) for r in visible
        ),
    )
    for _ in range(20):
        app.processEvents()
    window.search_bar.edit.setCursorPosition(len(QUERY))
    window.view.setFocus(Qt.FocusReason.OtherFocusReason)
    window.grab().save(str(OUT))
    print(f"wrote {OUT}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
