"""Adding folders indexes them with progress; live folders; closing mid-indexing; no model."""

from __future__ import annotations

import shutil
from pathlib import Path

from mediasearch.core.indexer import PHASE_ENCODING
from mediasearch.selftest.shapes import write_shape_images
from tests.ui.conftest import result_paths, search_for, wait_model_ready


def test_add_folder_indexes_with_progress_then_follows_changes(qtbot, make_window, tmp_path):
    photos = tmp_path / "photos"
    written = write_shape_images(photos, 48, seed=3)
    window = make_window()
    controller = window.controller
    assert "Add a folder to start" in window.empty.title.text()
    wait_model_ready(qtbot, window)

    progress: list[object] = []
    controller.indexProgress.connect(progress.append)
    with qtbot.waitSignal(controller.indexFinished, timeout=60_000) as finished:
        controller.add_folder(str(photos))
    assert finished.args[0].indexed == len(written)
    assert any(p.phase == PHASE_ENCODING and p.done == p.total == len(written) for p in progress)
    assert window.folders.roots() == [str(photos)]
    assert not window.progress.isVisible()

    search_for(qtbot, window, "a blue star")
    assert len(result_paths(window)) == len(written)

    # A file copied in shows up without a restart; a deleted one leaves the results.
    source = next(p for p, s, c in written if (s, c) == ("star", "blue"))
    copied = photos / "new" / "fresh star.png"
    copied.parent.mkdir()
    shutil.copyfile(source, copied.with_suffix(".tmp"))
    copied.with_suffix(".tmp").rename(copied)
    qtbot.waitUntil(lambda: str(copied) in result_paths(window), timeout=10_000)

    gone = next(p for p, s, c in written if (s, c) == ("circle", "red"))
    gone.unlink()
    qtbot.waitUntil(lambda: str(gone) not in result_paths(window), timeout=10_000)


def test_remove_folder_forgets_its_photos(qtbot, make_window, make_library, tmp_path):
    photos = tmp_path / "photos"
    write_shape_images(photos, 20, seed=4)
    library = make_library()
    library.index([str(photos)])
    window = make_window(library, watch=False)
    wait_model_ready(qtbot, window)
    assert window.folders.roots() == [str(photos)]
    window.controller.remove_folder(str(photos))
    assert window.folders.roots() == []
    qtbot.waitUntil(lambda: library.catalog.roots() == {}, timeout=10_000)
    assert "Add a folder to start" in window.empty.title.text()


def test_pause_resume_and_cancel(qtbot, make_window, tmp_path):
    photos = tmp_path / "photos"
    write_shape_images(photos, 200, seed=5, size=64)
    window = make_window(watch=False)
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(
        controller.indexProgress,
        timeout=30_000,
        check_params_cb=lambda p: p.phase == PHASE_ENCODING,
    ):
        controller.add_folder(str(photos))
    controller.pause()
    assert window.progress.paused
    controller.resume()
    with qtbot.waitSignal(controller.indexFinished, timeout=30_000) as finished:
        controller.cancel()
    summary = finished.args[0]
    assert summary.cancelled or summary.indexed == 200
    assert not controller.indexing


def test_closing_during_indexing_exits_cleanly(qtbot, make_window, tmp_path):
    photos = tmp_path / "photos"
    write_shape_images(photos, 300, seed=6, size=64)
    window = make_window()
    controller = window.controller
    with qtbot.waitSignal(
        controller.indexProgress,
        timeout=60_000,
        check_params_cb=lambda p: p.phase == PHASE_ENCODING,
    ):
        controller.add_folder(str(photos))
    assert controller.indexing
    window.close()
    assert controller.thread.isFinished()
    assert controller.searches.pool.activeThreadCount() == 0


def test_missing_model_shows_a_dialog_not_a_traceback(qtbot, make_window, tmp_path):
    missing = tmp_path / "no-such-model"
    window = make_window(model=f"local-dir:{missing}")
    qtbot.waitUntil(
        lambda: window.missing_model_dialog is not None and window.missing_model_dialog.isVisible(),
        timeout=20_000,
    )
    assert str(missing) in window.missing_model_dialog.details.text()
    assert "not available" in window.empty.title.text()
    window.missing_model_dialog.reject()


def test_choosing_a_model_folder_after_missing_weights(
    qtbot, make_window, tmp_path, tiny_model: Path
):
    window = make_window(model=f"local-dir:{tmp_path / 'nothing-here'}")
    qtbot.waitUntil(lambda: window.missing_model_dialog is not None, timeout=20_000)
    with qtbot.waitSignal(window.controller.indexFinished, timeout=60_000):
        window.missing_model_dialog.folderChosen.emit(str(tiny_model))
    assert window.controller.model_state == "ready"
    assert str(tiny_model) in window.controller.settings.model


def test_skipped_files_dialog_tries_them_again(
    qtbot, make_window, make_library, tmp_path, monkeypatch
):
    from mediasearch.core import indexer as indexer_module
    from mediasearch.ui.skipped_dialog import SkippedFilesDialog

    photos = tmp_path / "photos"
    written = write_shape_images(photos, 12, seed=5)
    locked = written[0][0]
    real_hash = indexer_module.content_hash

    def refuse_locked(path):
        if Path(path) == locked:  # as if unreadable; root reads anything, so simulate it
            raise PermissionError(13, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(indexer_module, "content_hash", refuse_locked)
    library = make_library()
    library.index([str(photos)])
    monkeypatch.setattr(indexer_module, "content_hash", real_hash)  # permissions fixed
    window = make_window(library, watch=False)
    wait_model_ready(qtbot, window)
    records = library.errors()
    assert [r.path for r in records] == [str(locked)]

    qtbot.waitUntil(lambda: not window.controller.indexing, timeout=30_000)  # start-up rescan
    dialog = SkippedFilesDialog(records, window)
    dialog.retryRequested.connect(window.controller.retry_skipped)
    with qtbot.waitSignal(window.controller.indexFinished, timeout=60_000) as finished:
        dialog.retry_button.click()
    assert finished.args[0].indexed == 1
    assert library.errors() == []
