"""The Qt binding itself: its void calls must not leak references (PySide6 6.12.0 did)."""

from __future__ import annotations

import sys

from PySide6.QtGui import QImage, QPainter

CALLS = 20_000


def test_void_calls_keep_none_alive(qapp) -> None:
    # On Python 3.11 None is reference counted; a binding that drops a reference per call
    # crashes the app ("deallocating None") after enough repaints.
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        painter.save()
        painter.restore()
    drift = sys.getrefcount(None) - before
    painter.end()
    assert abs(drift) < CALLS // 10
