"""Fault suite: each test builds a real library on disk, injects one fault and checks that
nothing is lost (fixtures for the tiny models come from tests/conftest.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import time
from pathlib import Path

from PySide6.QtCore import QElapsedTimer, QTimer

# The window fixtures live with the UI tests; importing them here makes them fixtures of
# this folder too (isolated_qsettings is autouse, so no test here touches real settings).
from tests.ui.conftest import (  # noqa: F401
    isolated_qsettings,
    make_window,
    result_paths,
    search_for,
    wait_model_ready,
)

HEARTBEAT_MS = 50  # how often the GUI thread is asked to tick while a fault plays out
_PAGE_KB = 1024


def rss_bytes() -> int:
    """This process's resident memory now (Linux /proc; 0 where that is unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * _PAGE_KB
    except OSError:
        pass
    return 0


class Heartbeat:
    """A QTimer on the GUI thread that records the longest gap between its ticks (a frozen
    event loop shows as a long gap) and the peak resident memory seen at the ticks."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS) -> None:
        self.interval_ms = interval_ms
        self.max_gap_ms = 0
        self.rss_start = rss_bytes()
        self.rss_peak = self.rss_start
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0

    def start(self) -> None:
        self._clock.start()
        self._last = 0
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def rss_delta(self) -> int:
        return self.rss_peak - self.rss_start

    def _tick(self) -> None:
        now = self._clock.elapsed()
        gap = now - self._last
        self._last = now
        self.max_gap_ms = max(self.max_gap_ms, gap)
        self.rss_peak = max(self.rss_peak, rss_bytes())


def wait_until(predicate: object, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll `predicate` (a no-argument callable) off the Qt event loop; True once it holds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval_s)
    return bool(predicate())  # type: ignore[operator]
