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
# Batches are handed on at most this often: a flood of thousands of files then costs the
# consumer (and the GUI thread it signals) a few batches a second, not one per file.
MIN_BATCH_GAP_S = 0.1
POLL_INTERVAL_S = 3.0  # for folders the OS cannot watch (network drives, inotify limits)
# How often the observer threads are checked: one can die (an inotify error while adding a
# watch for a new subfolder ends watchdog's emitter thread), and then the folder goes quiet.
HEALTH_CHECK_S = 5.0
STOP_JOIN_S = 5.0
# Reads (ours included: decoding and thumbnails open files) must not look like changes.
_CHANGE_EVENTS = {
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_CLOSED,
}

ChangeCallback = Callable[[set[str]], None]
# (root, mode) when a dead watch of `root` was replaced, so a front end can say how it is
# watched now ("native", or "polling" when the OS refused a new native watch).
RestartCallback = Callable[[str, str], None]


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


def _alive(observer: BaseObserver) -> bool:
    """Whether the observer still delivers events: its dispatch thread and every emitter
    thread (which reads the OS's events, and dies alone on an error) are running."""
    return observer.is_alive() and all(emitter.is_alive() for emitter in observer.emitters)


class FolderWatcher:
    """One watchdog observer per root; never touches the catalog itself.

    Events are collected per path; a path is handed to `on_changes` (on the watcher's own
    thread) once no event has come for `debounce_s` (`SETTLED_S` after a close-write or a
    rename) and its size has stopped changing, so a file still being copied is reported
    once, when complete. Bursts arrive as a few large batches.

    Observers are checked every `HEALTH_CHECK_S`: a dead one is replaced (by a polling one
    if the OS refuses a native watch again) and its root is handed on as changed, so that
    the consumer rescans it for what happened while nobody was watching.
    """

    def __init__(
        self,
        on_changes: ChangeCallback,
        *,
        debounce_s: float = DEBOUNCE_S,
        on_restart: RestartCallback | None = None,
    ) -> None:
        self.on_changes = on_changes
        self.on_restart = on_restart
        self.debounce_s = debounce_s
        self._observers: dict[str, BaseObserver] = {}
        self._observers_lock = threading.Lock()  # watch/unwatch (callers) vs health checks
        # path -> (when it may be handed on, size at its last event)
        self._pending: dict[str, tuple[float, int | None]] = {}
        self._wake = threading.Condition()
        # When the flush loop will next look at `_pending` (None: waiting for an event); an
        # event due later needs no wake-up, which keeps a flood from waking it per file.
        self._planned: float | None = None
        self._stopping = False
        self._next_health_check = time.monotonic() + HEALTH_CHECK_S
        self._thread = threading.Thread(target=self._flush_loop, name="watcher", daemon=True)
        self._thread.start()

    def watch(self, root: str) -> str:
        """Start watching `root` recursively; returns "native", or "polling" when the OS
        refused a native watch (too many watches, a network file system)."""
        with self._observers_lock:
            if root in self._observers:
                return _mode_of(self._observers[root])
            observer = self._start_observer(root)
            self._observers[root] = observer
            return _mode_of(observer)

    def unwatch(self, root: str) -> None:
        with self._observers_lock:
            observer = self._observers.pop(root, None)
        if observer is not None:
            observer.stop()
            observer.join(timeout=STOP_JOIN_S)

    @property
    def roots(self) -> list[str]:
        with self._observers_lock:
            return list(self._observers)

    def mode(self, root: str) -> str | None:
        """How `root` is watched now ("native" or "polling"), None when it is not."""
        with self._observers_lock:
            observer = self._observers.get(root)
            return _mode_of(observer) if observer is not None else None

    def stop(self) -> None:
        """Stop every observer and the flush thread; pending changes are dropped (the
        start-up rescan catches them next time)."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for root in self.roots:
            self.unwatch(root)
        self._thread.join(timeout=STOP_JOIN_S)

    def _start_observer(self, root: str) -> BaseObserver:
        relay = _Relay(self._note)
        try:
            observer: BaseObserver = Observer()
            observer.schedule(relay, root, recursive=True)
            observer.start()  # inotify watches are added here: ENOSPC at the limit
        except OSError as error:
            log.warning(
                "cannot watch %s natively (%s); polling every %.0f s", root, error, POLL_INTERVAL_S
            )
            observer = PollingObserver(timeout=POLL_INTERVAL_S)
            observer.schedule(relay, root, recursive=True)
            observer.start()
        return observer

    def _note(self, path: str, complete: bool) -> None:
        quiet = min(SETTLED_S, self.debounce_s) if complete else self.debounce_s
        due = time.monotonic() + quiet
        size = _size_or_none(path)
        with self._wake:
            self._pending[path] = (due, size)
            if self._planned is None or due < self._planned:
                self._wake.notify_all()

    def _flush_loop(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                self._planned = self._next_due()
                # Wakes for health checks too, so a dead observer is seen on a quiet folder.
                wake_at = min(self._planned or self._next_health_check, self._next_health_check)
                self._wake.wait(timeout=max(0.0, wake_at - time.monotonic()))
                if self._stopping:
                    return
                self._planned = None
                ready = self._take_settled()
            if time.monotonic() >= self._next_health_check:
                ready |= self._check_observers()
                self._next_health_check = time.monotonic() + HEALTH_CHECK_S
            if ready:
                try:
                    self.on_changes(ready)
                except Exception:  # a failing consumer must not kill the watcher
                    log.exception("change handler failed")
                # Whatever falls due meanwhile joins the next batch instead of its own.
                with self._wake:
                    self._planned = time.monotonic() + MIN_BATCH_GAP_S
                    if not self._stopping:
                        self._wake.wait(timeout=MIN_BATCH_GAP_S)

    def _next_due(self) -> float | None:
        if not self._pending:
            return None
        return min(when for when, _ in self._pending.values())

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

    def _check_observers(self) -> set[str]:
        """Replace observers whose threads died; returns their roots, to be rescanned."""
        restarted: dict[str, str] = {}
        with self._observers_lock:
            for root, observer in list(self._observers.items()):
                if self._stopping or _alive(observer):
                    continue
                log.warning("the watch of %s stopped; watching it again", root)
                observer.stop()  # ends whatever threads of it still run
                try:
                    fresh = self._start_observer(root)
                except OSError as error:  # the folder itself is gone (an unplugged drive)
                    log.warning("cannot watch %s again: %s", root, error)
                    continue
                self._observers[root] = fresh
                restarted[root] = _mode_of(fresh)
        for root, mode in restarted.items():
            if self.on_restart is not None:
                try:
                    self.on_restart(root, mode)
                except Exception:
                    log.exception("restart handler failed")
        return set(restarted)


def _mode_of(observer: BaseObserver) -> str:
    return MODE_POLLING if isinstance(observer, PollingObserver) else MODE_NATIVE
