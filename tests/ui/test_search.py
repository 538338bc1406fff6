"""Search as you type, drop and paste to find similar, thumbnails and context actions."""

from __future__ import annotations

import warnings
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QApplication

from mediasearch.ui.results_model import ThumbnailRole
from tests.ui.conftest import result_paths, search_for, wait_model_ready


def labels(paths: list[str], photos: list[tuple[Path, str, str]]) -> list[tuple[str, str]]:
    by_path = {str(path): (shape, color) for path, shape, color in photos}
    return [by_path[p] for p in paths]


def photos_root(shape_photos) -> Path:
    path = Path(shape_photos[0][0])
    while path.name != "photos":
        path = path.parent
    return path


def indexed_library(make_library, shape_photos):
    library = make_library()
    library.index([str(photos_root(shape_photos))])
    return library


def test_typing_fills_grid_with_best_matches_first(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(window.resultsShown, timeout=20_000, check_params_cb=lambda n: n > 0):
        qtbot.keyClicks(window.search_bar.edit, "a red circle")
    top = labels(result_paths(window)[:5], shape_photos)
    assert top.count(("circle", "red")) >= 4
    assert window.stack.currentWidget() is window.view
    # Thumbnails arrive off the GUI thread and replace the placeholder.
    qtbot.waitUntil(
        lambda: isinstance(window.model.index(0).data(ThumbnailRole), QPixmap), timeout=10_000
    )


def test_enter_searches_at_once_and_stale_results_are_dropped(
    qtbot, make_window, make_library, shape_photos
):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    shown: list[int] = []
    window.resultsShown.connect(shown.append)
    window.search_bar.edit.setText("a blue square")
    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        window.search_bar.edit.setText("a green star")
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)
    qtbot.wait(300)  # let the debounce timer (stopped by Enter) prove it does not fire again
    assert window.controller.request.text == "a green star"
    top = labels(result_paths(window)[:5], shape_photos)
    assert top.count(("star", "green")) >= 3
    assert len(shown) == 1


def test_threshold_hides_weak_matches(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    search_for(qtbot, window, "a yellow triangle")
    total = window.model.rowCount()
    best = window.model.best_score()
    assert total == len(shape_photos) and best is not None
    window.set_threshold(best - 1e-4)
    assert window.model.rowCount() < total
    assert window.model.hidden_count == total - window.model.rowCount()
    assert "hidden" in window.info.text()
    window.set_threshold(1.0)
    assert window.model.rowCount() == 0
    assert window.stack.currentWidget() is window.empty
    assert "No strong matches" in window.empty.title.text()


def drop(window, mime: QMimeData) -> None:
    """Deliver a drag from outside the app as Qt does: enter (must be accepted), then drop."""
    center = window.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PySide marks the QPoint overload
        enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def test_dropping_a_file_runs_a_similar_search(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    query, _shape, color = next(p for p in shape_photos if p[1:] == ("square", "blue"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(query))])
    with qtbot.waitSignal(window.resultsShown, timeout=20_000, check_params_cb=lambda n: n > 0):
        drop(window, mime)
    assert [i.path for i in window.search_bar.images] == [str(query)]
    paths = result_paths(window)
    assert str(query) not in paths  # the query photo itself is not a result
    # The tiny test model sees colour best: the nearest photos share the query's colour.
    assert [c for _, c in labels(paths[:3], shape_photos)].count(color) >= 2

    # Text combines with the chip ("this photo + snow"); removing the chip keeps the text.
    search_for(qtbot, window, "a red circle")
    assert window.controller.request.image_paths == (str(query),)
    assert window.controller.request.text == "a red circle"
    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        window.search_bar.remove_image(window.search_bar.images[0])
    assert window.controller.request.image_paths == ()


def test_dropping_and_pasting_image_data(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    query = next(p for p, s, c in shape_photos if (s, c) == ("star", "yellow"))
    image = QImage(str(query))
    assert not image.isNull()

    mime = QMimeData()
    mime.setImageData(image)
    with qtbot.waitSignal(window.resultsShown, timeout=20_000, check_params_cb=lambda n: n > 0):
        drop(window, mime)
    assert len(window.controller.request.images) == 1
    assert labels(result_paths(window)[:3], shape_photos).count(("star", "yellow")) >= 2

    window.search_bar.clear()
    QGuiApplication.clipboard().setImage(image)
    window.search_bar.edit.setFocus()
    with qtbot.waitSignal(window.resultsShown, timeout=20_000, check_params_cb=lambda n: n > 0):
        qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert len(window.controller.request.images) == 1
    assert [i.label for i in window.search_bar.images] == ["Pasted image"]


def test_find_similar_and_remove_from_index(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    search_for(qtbot, window, "a green circle")
    first = result_paths(window)[0]
    with qtbot.waitSignal(window.resultsShown, timeout=20_000):
        window.find_similar(first)
    assert window.controller.request.image_paths == (first,)
    assert window.search_bar.text() == ""

    victim = result_paths(window)[0]
    file_id = window.model.index(0).data(Qt.ItemDataRole.UserRole + 1)
    with qtbot.waitSignal(window.controller.filesRemoved, timeout=10_000):
        window._remove_from_index([file_id])
    qtbot.waitUntil(lambda: victim not in result_paths(window), timeout=10_000)
    assert Path(victim).exists()  # only the index forgets it


def test_copy_paths_puts_urls_on_the_clipboard(qtbot, make_window, make_library, shape_photos):
    window = make_window(indexed_library(make_library, shape_photos))
    wait_model_ready(qtbot, window)
    search_for(qtbot, window, "a red square")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Home)
    window.view.setCurrentIndex(window.model.index(0))
    window.copy_paths()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.text() == result_paths(window)[0]
    drag = window.model.mimeData([window.model.index(0)])
    assert drag.urls()[0].toLocalFile() == result_paths(window)[0]


def test_model_download_progress_shows_in_the_status_bar(qtbot, make_window):
    window = make_window()
    worker = window.controller.worker
    with qtbot.waitSignal(window.controller.modelDownloading, timeout=5_000):
        worker._report_download(300_000_000, 600_000_000)
    assert "Downloading the search model" in window.model_label.text()
    assert "300 of 600 MB" in window.model_label.text()
