"""Quitting in the middle of indexing: prompt, clean, and the next start resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mediasearch.core.catalog import STATUS_OK
from mediasearch.core.indexer import PHASE_ENCODING
from mediasearch.core.library import CATALOG_FILE, Library
from mediasearch.selftest.shapes import write_shape_images
from tests.faults.conftest import wait_until
from tests.ui.conftest import wait_model_ready

PHOTO_COUNT = 300
EXIT_BOUND_S = 10.0  # from the quit request to the process (or window) being gone
START_TIMEOUT_S = 60.0
# What a Qt abort or a thread torn down mid-run prints; none may appear on a clean quit.
CRASH_SIGNS = ("QThread: Destroyed", "Aborted", "Fatal Python error", "Traceback", "core dumped")


def _ok_count(home: Path) -> int:
    db = home / CATALOG_FILE
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            row = connection.execute(
                "SELECT COUNT(*) FROM files WHERE status = ?", (STATUS_OK,)
            ).fetchone()
    except sqlite3.Error:  # created but not migrated yet
        return 0
    return int(row[0])


def _resume(home: Path, model: str) -> tuple[int, int]:
    """(files encoded by the next start, files indexed in all) for the library in `home`."""
    with Library(home, model=model, device="cpu") as library:
        summary = library.index()
        return summary.indexed, library.catalog.status_counts().get(STATUS_OK, 0)


def test_closing_the_window_mid_indexing_stops_fast_and_resumes(
    qtbot, make_window, tiny_model_spec: str, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    write_shape_images(photos, PHOTO_COUNT, seed=31, size=48)
    window = make_window(watch=False)
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(
        controller.indexProgress,
        timeout=30_000,
        check_params_cb=lambda p: p.phase == PHASE_ENCODING and p.done > 0,
    ):
        controller.add_folder(str(photos))
    started = time.monotonic()
    window.close()
    closed_in = time.monotonic() - started
    print(f"\nwindow closed mid-indexing in {closed_in:.2f} s")
    assert closed_in < EXIT_BOUND_S
    assert controller.stopped_cleanly
    assert not controller.thread.isRunning()

    done_before = _ok_count(tmp_path / "home")
    assert 0 < done_before < PHOTO_COUNT  # really stopped in the middle
    encoded_now, total = _resume(tmp_path / "home", tiny_model_spec)
    assert total == PHOTO_COUNT
    assert encoded_now == PHOTO_COUNT - done_before  # nothing done before is encoded again


def test_sigterm_mid_indexing_quits_cleanly_and_resumes(
    tiny_model_spec: str, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    write_shape_images(photos, PHOTO_COUNT, seed=32, size=48)
    home = tmp_path / "home"
    with Library(home, model=tiny_model_spec, device="cpu") as library:
        library.catalog.add_root(str(photos))  # the app's start-up rescan indexes it
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # the app's QSettings stay in tmp_path
    }
    command = [sys.executable, "-m", "mediasearch", "--home", str(home)]
    command += ["--model", tiny_model_spec, "--device", "cpu"]
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        app = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            assert wait_until(lambda: _ok_count(home) > 0, START_TIMEOUT_S), "never indexed"
            started = time.monotonic()
            app.send_signal(signal.SIGTERM)
            code = app.wait(timeout=EXIT_BOUND_S * 3)
            exited_in = time.monotonic() - started
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
    errors = stderr_path.read_text()
    print(f"\nSIGTERM mid-indexing: exit {code} in {exited_in:.2f} s")
    assert exited_in < EXIT_BOUND_S
    assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM), errors
    assert not [sign for sign in CRASH_SIGNS if sign in errors], errors
    assert "SIGTERM received" in errors  # handled, not just killed

    done_before = _ok_count(home)
    print(f"{done_before} of {PHOTO_COUNT} photos were indexed before the quit")
    assert 0 < done_before < PHOTO_COUNT
    encoded_now, total = _resume(home, tiny_model_spec)
    assert total == PHOTO_COUNT
    assert encoded_now == PHOTO_COUNT - done_before
