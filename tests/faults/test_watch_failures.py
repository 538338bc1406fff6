"""The OS refuses a native watch (inotify limit), or a watch thread dies: folders stay live."""

from __future__ import annotations

import contextlib
import errno
import queue
import time
from pathlib import Path

import pytest

from mediasearch.core import watcher as watcher_module
from mediasearch.core.catalog import STATUS_OK
from mediasearch.core.watcher import MODE_NATIVE, MODE_POLLING, FolderWatcher
from mediasearch.selftest.shapes import write_shape_images
from mediasearch.ui.controller import Controller
from mediasearch.ui.folders import WATCH_TOOLTIPS
from tests.ui.conftest import wait_model_ready

WAIT_S = 15.0
FAST_POLL_S = 0.2
FAST_HEALTH_CHECK_S = 0.3


class _RefusingObserver:
    """Stands in for the inotify observer once the system's watch limit is reached."""

    def schedule(self, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def _status(controller: Controller, path: Path) -> str | None:
    record = controller._read(lambda c: c.file_by_path(str(path)))
    return None if record is None else str(record.status)


def _collect(received: queue.Queue[set[str]], expected: set[str]) -> set[str]:
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT_S
    while not expected <= seen and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            seen |= received.get(timeout=0.1)
    return seen


def test_watch_limit_falls_back_to_polling_and_the_window_says_so(
    qtbot, make_window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher_module, "Observer", _RefusingObserver)
    monkeypatch.setattr(watcher_module, "POLL_INTERVAL_S", FAST_POLL_S)
    photos = tmp_path / "photos"
    write_shape_images(photos, 4, seed=21)
    window = make_window()
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(controller.indexFinished, timeout=30_000):
        controller.add_folder(str(photos))
    assert controller._watch_modes[str(photos)] == MODE_POLLING
    item = window.folders.list.item(0)
    assert WATCH_TOOLTIPS[MODE_POLLING] in item.toolTip()
    assert "polling" in window.statusBar().currentMessage()

    # Polled, the folder is still live: a new photo is found without a rescan.
    late = write_shape_images(tmp_path / "later", 1, seed=22)[0][0]
    landed = photos / f"late{late.suffix}"
    late.rename(landed)
    qtbot.waitUntil(
        lambda: _status(controller, landed) == STATUS_OK,
        timeout=int(WAIT_S * 1000),
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_dead_watch_thread_is_restarted_and_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher_module, "HEALTH_CHECK_S", FAST_HEALTH_CHECK_S)
    received: queue.Queue[set[str]] = queue.Queue()
    restarts: list[tuple[str, str]] = []
    watcher = FolderWatcher(
        received.put, debounce_s=0.3, on_restart=lambda root, mode: restarts.append((root, mode))
    )
    try:
        root = str(tmp_path)
        assert watcher.watch(root) == MODE_NATIVE
        observer = watcher._observers[root]

        # The emitter thread (reading inotify) crashes on its next event, as it does when
        # the watch limit is hit while adding a watch for a new subfolder.
        def crash(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

        for emitter in observer.emitters:
            monkeypatch.setattr(emitter, "queue_events", crash)
        trigger = tmp_path / "trigger.jpg"
        trigger.write_bytes(b"x")
        while_dead = tmp_path / "while dead.jpg"
        while_dead.write_bytes(b"x")
        # Noticed and replaced; the root comes as a change so the consumer rescans it and
        # finds what landed while nothing was watching.
        assert root in _collect(received, {root})
        assert restarts == [(root, MODE_NATIVE)]
        assert watcher._observers[root] is not observer

        after = tmp_path / "after restart.jpg"
        after.write_bytes(b"x")
        assert str(after) in _collect(received, {str(after)})
    finally:
        watcher.stop()


def test_restart_shows_in_the_window(
    qtbot, make_window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watch that dies and comes back by polling (the limit is still reached) is shown."""
    monkeypatch.setattr(watcher_module, "HEALTH_CHECK_S", FAST_HEALTH_CHECK_S)
    monkeypatch.setattr(watcher_module, "POLL_INTERVAL_S", FAST_POLL_S)
    photos = tmp_path / "photos"
    write_shape_images(photos, 4, seed=23)
    window = make_window()
    controller = window.controller
    wait_model_ready(qtbot, window)
    with qtbot.waitSignal(controller.indexFinished, timeout=30_000):
        controller.add_folder(str(photos))
    assert controller._watch_modes[str(photos)] == MODE_NATIVE
    assert controller.watcher is not None
    monkeypatch.setattr(watcher_module, "Observer", _RefusingObserver)
    controller.watcher._observers[str(photos)].stop()  # the observer's threads end

    qtbot.waitUntil(
        lambda: controller._watch_modes[str(photos)] == MODE_POLLING, timeout=int(WAIT_S * 1000)
    )
    assert WATCH_TOOLTIPS[MODE_POLLING] in window.folders.list.item(0).toolTip()
    assert "watching it again by polling" in window.statusBar().currentMessage()
    late = write_shape_images(tmp_path / "later", 1, seed=24)[0][0]
    landed = photos / f"after{late.suffix}"
    late.rename(landed)
    qtbot.waitUntil(
        lambda: _status(controller, landed) == STATUS_OK,
        timeout=int(WAIT_S * 1000),
    )
