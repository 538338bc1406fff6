"""One program at a time per library home: an advisory lock file, released even by a kill -9."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import IO

from mediasearch.core.catalog import CatalogError

LOCK_FILE = "mediasearch.lock"
# Windows locks byte ranges and forbids reading a locked one: lock a byte far past the pid
# written at the start, so a second instance can still read who holds the library.
WINDOWS_LOCK_OFFSET = 1 << 20


class LibraryLockedError(CatalogError):
    """Another process (a second app window, a CLI run) has this library open."""

    def __init__(self, home: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"mediasearch is already running on the library in {home} ({holder}). Close the "
            "other window or wait for the other command to finish, then try again."
        )
        self.home = home
        self.pid = pid

    def reason(self) -> str:
        """The first half of the message: who holds the library."""
        holder = f"pid {self.pid}" if self.pid else "another process"
        return f"mediasearch is already running on the library in {self.home} ({holder})"


# Library objects of one process share the lock of a home: the app opens the library of a new
# model while the old one still answers searches. Only other processes are kept out.
_held: dict[Path, tuple[IO[str], int]] = {}
_held_lock = threading.Lock()


class HomeLock:
    """The lock on one home, held from `acquire()` until `release()` (or the process ends).

    The OS drops the lock when the holder dies however it dies, so a stale lock file left by
    a crash never blocks the next start; the file itself is never deleted (deleting it would
    let two processes lock two different files of the same name).
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self._key = home.resolve()
        self._held = False

    @property
    def held(self) -> bool:
        return self._held

    def acquire(self) -> HomeLock:
        """Take the lock or raise LibraryLockedError naming the process holding it."""
        with _held_lock:
            if self._held:
                return self
            shared = _held.get(self._key)
            if shared is not None:
                _held[self._key] = (shared[0], shared[1] + 1)
                self._held = True
                return self
            self.home.mkdir(parents=True, exist_ok=True)
            handle = (self.home / LOCK_FILE).open("a+", encoding="ascii")
            try:
                _lock_file(handle)
            except OSError:
                handle.seek(0)
                text = handle.read(32).strip()
                handle.close()
                raise LibraryLockedError(self.home, int(text) if text.isdigit() else None) from None
            # The pid is only a hint for the message: the lock itself is what counts.
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            _held[self._key] = (handle, 1)
            self._held = True
            return self

    def release(self) -> None:
        """Let other processes open the library (once every Library of this one has closed)."""
        with _held_lock:
            if not self._held:
                return
            self._held = False
            handle, count = _held[self._key]
            if count > 1:
                _held[self._key] = (handle, count - 1)
                return
            del _held[self._key]
            with contextlib.suppress(OSError):
                _unlock_file(handle)
            handle.close()


if sys.platform == "win32":
    import msvcrt

    def _lock_file(handle: IO[str]) -> None:
        handle.seek(WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock_file(handle: IO[str]) -> None:
        handle.seek(WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_file(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
