"""Watch folders with watchdog and hand on debounced batches of changed paths once stable."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

log = logging.getLogger(__name__)

MODE_NATIVE = "native"
MODE_POLLING = "polling"
DEBOUNCE_S = 1.0  # quiet time after a path's last event before it is handed on
# A writer closing the file (inotify's close-write) or a rename into place says the file is
# complete, so such paths wait only this long: live search seconds after a photo lands.
SETTLED_S = 0.2
POLL_INTERVAL_S = 3.0  # for folders the OS cannot watch (network drives, inotify limits)
# Reads (ours included: decoding and thumbnails open files) must not look like changes.
_CHANGE_EVENTS = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_CLOSED,
}

ChangeCallback = Callable[[set[str]], None]


def _size_or_none(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


class _Relay(FileSystemEventHandler):
    def __init__(self, note: Callable[[str, bool], None]) -> None:
        self.note = note  # (path, whether the event says the file is complete)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _CHANGE_EVENTS:
            return
        if event.is_directory and event.event_type == EVENT_TYPE_MODIFIED:
            return  # a folder's mtime changes with every file in it; the files say more
        moved = event.event_type == EVENT_TYPE_MOVED
        self.note(os.fsdecode(event.src_path), event.event_type == EVENT_TYPE_CLOSED or moved)
        if moved and event.dest_path:
            self.note(os.fsdecode(event.dest_path), True)


class FolderWatcher:
    """One watchdog observer per root; never touches the catalog itself.

    Events are collected per path; a path is handed to `on_changes` (on the watcher's own
    thread) once no event has come for `debounce_s` (`SETTLED_S` after a close-write or a
    rename) and its size has stopped changing, so a file still being copied is reported
    once, when complete. Bursts arrive as one batch.
    """

    def __init__(self, on_changes: ChangeCallback, *, debounce_s: float = DEBOUNCE_S) -> None:
        self.on_changes = on_changes
        self.debounce_s = debounce_s
        self._observers: dict[str, BaseObserver] = {}
        # path -> (when it may be handed on, size at its last event)
        self._pending: dict[str, tuple[float, int | None]] = {}
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._flush_loop, name="watcher", daemon=True)
        self._thread.start()

    def watch(self, root: str) -> str:
        """Start watching `root` recursively; returns "native", or "polling" when the OS
        refused a native watch (too many watches, a network file system)."""
        if root in self._observers:
            return (
                MODE_POLLING if isinstance(self._observers[root], PollingObserver) else MODE_NATIVE
            )
        relay = _Relay(self._note)
        try:
            observer: BaseObserver = Observer()
            observer.schedule(relay, root, recursive=True)
            observer.start()
            mode = MODE_NATIVE
        except OSError as error:
            log.warning(
                "cannot watch %s natively (%s); polling every %.0f s", root, error, POLL_INTERVAL_S
            )
            observer = PollingObserver(timeout=POLL_INTERVAL_S)
            observer.schedule(relay, root, recursive=True)
            observer.start()
            mode = MODE_POLLING
        self._observers[root] = observer
        return mode

    def unwatch(self, root: str) -> None:
        observer = self._observers.pop(root, None)
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    @property
    def roots(self) -> list[str]:
        return list(self._observers)

    def stop(self) -> None:
        """Stop every observer and the flush thread; pending changes are dropped (the
        start-up rescan catches them next time)."""
        for root in list(self._observers):
            self.unwatch(root)
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        self._thread.join(timeout=5)

    def _note(self, path: str, complete: bool) -> None:
        quiet = min(SETTLED_S, self.debounce_s) if complete else self.debounce_s
        with self._wake:
            self._pending[path] = (time.monotonic() + quiet, _size_or_none(path))
            self._wake.notify_all()

    def _flush_loop(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                self._wake.wait(timeout=self._until_next_due())
                if self._stopping:
                    return
                ready = self._take_settled()
            if ready:
                try:
                    self.on_changes(ready)
                except Exception:  # a failing consumer must not kill the watcher
                    log.exception("change handler failed")

    def _until_next_due(self) -> float | None:
        if not self._pending:
            return None
        due = min(when for when, _ in self._pending.values())
        return max(0.02, due - time.monotonic())

    def _take_settled(self) -> set[str]:
        now = time.monotonic()
        ready: set[str] = set()
        for path, (due, size) in list(self._pending.items()):
            if now < due:
                continue
            current = _size_or_none(path)
            if current is not None and current != size:
                # Still growing (a copy in progress): look again after another quiet spell.
                self._pending[path] = (now + self.debounce_s, current)
                continue
            del self._pending[path]
            ready.add(path)
        return ready
