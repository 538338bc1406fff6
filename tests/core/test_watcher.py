"""The folder watcher: real watchdog observers, debounced batches, stable sizes, moves."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path

import pytest

from mediasearch.core.watcher import MODE_NATIVE, MODE_POLLING, FolderWatcher

WAIT_S = 10.0


@pytest.fixture
def batches():
    received: queue.Queue[set[str]] = queue.Queue()
    watcher = FolderWatcher(received.put, debounce_s=0.3)
    yield watcher, received
    watcher.stop()


def collect(received: queue.Queue[set[str]], expected: set[str]) -> set[str]:
    """Everything reported until `expected` has been seen (or the wait runs out)."""
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT_S
    while not expected <= seen and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            seen |= received.get(timeout=0.2)
    return seen


def test_new_and_deleted_files_are_reported(batches, tmp_path: Path) -> None:
    watcher, received = batches
    assert watcher.watch(str(tmp_path)) == MODE_NATIVE
    photo = tmp_path / "sub" / "new.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"x" * 100)
    assert str(photo) in collect(received, {str(photo)})
    photo.unlink()
    assert str(photo) in collect(received, {str(photo)})


def test_move_reports_both_ends(batches, tmp_path: Path) -> None:
    watcher, received = batches
    old = tmp_path / "old.jpg"
    old.write_bytes(b"x")
    watcher.watch(str(tmp_path))
    new = tmp_path / "new.jpg"
    old.rename(new)
    assert {str(old), str(new)} <= collect(received, {str(old), str(new)})


def test_growing_file_is_reported_once_complete(batches, tmp_path: Path) -> None:
    watcher, received = batches
    watcher.watch(str(tmp_path))
    photo = tmp_path / "copying.jpg"
    done = threading.Event()

    def slow_copy() -> None:
        with photo.open("wb") as f:
            for _ in range(8):
                f.write(b"x" * 1000)
                f.flush()
                time.sleep(0.15)
        done.set()

    threading.Thread(target=slow_copy).start()
    seen = collect(received, {str(photo)})
    assert str(photo) in seen
    assert done.is_set(), "reported before the copy finished"
    assert photo.stat().st_size == 8000


def test_polling_fallback_when_native_watch_fails(
    batches, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher, received = batches
    from mediasearch.core import watcher as watcher_module

    class Refusing:
        def schedule(self, *args: object, **kwargs: object) -> None:
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", Refusing)
    monkeypatch.setattr(watcher_module, "POLL_INTERVAL_S", 0.2)
    assert watcher.watch(str(tmp_path)) == MODE_POLLING
    (tmp_path / "late.jpg").write_bytes(b"x")
    assert str(tmp_path / "late.jpg") in collect(received, {str(tmp_path / "late.jpg")})


def test_closed_file_is_handed_on_without_waiting_out_the_debounce(tmp_path: Path) -> None:
    """A writer closing the file says it is complete: no need for the long quiet spell that
    files without a close event (still open, or on OSes without one) must wait out."""
    received: queue.Queue[set[str]] = queue.Queue()
    watcher = FolderWatcher(received.put, debounce_s=60.0)
    try:
        watcher.watch(str(tmp_path))
        still_open = (tmp_path / "downloading.jpg").open("wb")
        still_open.write(b"x" * 100)
        still_open.flush()
        closed = tmp_path / "landed.jpg"
        closed.write_bytes(b"x" * 100)
        seen = collect(received, {str(closed)})
        assert str(closed) in seen
        assert str(tmp_path / "downloading.jpg") not in seen  # waits out the 60 s debounce
        still_open.close()
    finally:
        watcher.stop()
