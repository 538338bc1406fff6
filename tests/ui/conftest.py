"""pytest-qt fixtures: an offscreen Qt, isolated QSettings, and a window on a tiny-model library."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QGuiApplication

from mediasearch.config import Settings
from mediasearch.core.library import Library
from mediasearch.ui.controller import MODEL_READY, Controller
from mediasearch.ui.main_window import MainWindow


class InlinePool:
    """A QThreadPool stand-in that runs each job at once, on the calling thread."""

    def start(self, runnable: object) -> None:
        runnable.run()  # type: ignore[attr-defined]

    def setMaxThreadCount(self, count: int) -> None:
        pass

    def clear(self) -> None:
        pass

    def waitForDone(self, timeout_ms: int = -1) -> bool:
        return True


@pytest.fixture(autouse=True)
def isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName("mediasearch-tests")
    QCoreApplication.setApplicationName("mediasearch-tests")


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qtbot, tmp_path: Path, tiny_model_spec: str) -> Iterator[WindowFactory]:
    """Build a started MainWindow over a Library in tmp_path/home; closed afterwards."""
    windows: list[MainWindow] = []

    def make(
        library: Library | None = None,
        *,
        model: str | None = None,
        watch: bool = True,
        audio_model: str | None = None,
    ) -> MainWindow:
        home = tmp_path / "home"
        settings = Settings(model=model or tiny_model_spec, device="cpu")

        def build(s: Settings) -> Library:
            return Library(
                home,
                model=s.model,
                device="cpu",
                backend=s.backend,
                excluded=s.excluded_folders,
                audio_model=audio_model,
            )

        library = library or build(settings)
        controller = Controller(library, settings, home, make_library=build, watch=watch)
        window = MainWindow(controller)
        window.set_threshold(0.0, "text")  # the tiny model's scores are not CLIP's
        window.set_threshold(0.0, "image")
        qtbot.addWidget(window)
        window.show()
        controller.start()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    # With the offscreen platform (not xcb), PySide 6.11-6.12 segfault at interpreter exit if the
    # clipboard still holds mime data made in Python: empty it while Qt is fully alive.
    QGuiApplication.clipboard().clear()


def wait_model_ready(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.controller.model_state == MODEL_READY, timeout=30_000)


def search_for(qtbot, window: MainWindow, text: str) -> None:
    """Type a query, press Enter and wait for its results to be shown."""
    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        window.search_bar.set_text(text)
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)


def result_paths(window: MainWindow) -> list[str]:
    model = window.model
    from mediasearch.ui.results_model import PathRole

    return [model.index(row).data(PathRole) for row in range(model.rowCount())]
