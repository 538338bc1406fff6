"""Run a short blocking call on a thread pool and get its result back on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    done = Signal(object, object)  # callback, result
    error = Signal(object, object)  # callback, exception


class TaskRunner(QObject):
    """Picard's `run_task`/`to_main` in a few lines: `run(fn, on_done, on_error)`."""

    def __init__(self, pool: QThreadPool | None = None) -> None:
        super().__init__()
        self.pool = pool or QThreadPool(self)
        self._relay = _Relay()
        # Bound methods of this GUI-thread object, not lambdas: a lambda slot has no thread
        # of its own, so Qt would call it directly on the pool thread.
        self._relay.done.connect(self._deliver)
        self._relay.error.connect(self._deliver)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.pool.start(_Task(fn, on_done, on_error, self._relay))

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self.pool.waitForDone(timeout_ms)

    def _deliver(self, callback: Callable[[Any], None], value: object) -> None:
        callback(value)


class _Task(QRunnable):
    def __init__(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        relay: _Relay,
    ) -> None:
        super().__init__()
        self.fn = fn
        self.on_done = on_done
        self.on_error = on_error
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as error:
            if self.on_error is None:
                log.exception("background task failed")
            else:
                self.relay.error.emit(self.on_error, error)
            return
        if self.on_done is not None:
            self.relay.done.emit(self.on_done, result)
