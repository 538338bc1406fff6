"""Status-bar indexing progress: bar, files done / total, rate, time left; pause and cancel."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from mediasearch.core.indexer import PHASE_SCANNING, Progress
from mediasearch.ui.icons import icon


class IndexProgress(QWidget):
    """Hidden while nothing is being indexed."""

    pauseRequested = Signal()
    resumeRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.setSpacing(6)
        self.label = QLabel()
        self.label.setObjectName("progressLabel")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setFixedHeight(12)
        self.bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setIconSize(QSize(14, 14))
        self.pause_button.setAutoRaise(True)
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button = QToolButton()
        self.cancel_button.setIcon(icon("stop"))
        self.cancel_button.setIconSize(QSize(14, 14))
        self.cancel_button.setAutoRaise(True)
        self.cancel_button.setToolTip("Stop indexing (what is done is kept)")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.clicked.connect(self.cancelRequested)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.paused = False
        self.set_paused(False)
        self.hide()

    def start(self) -> None:
        self.bar.setRange(0, 0)  # busy until the first count arrives
        self.label.setText("Looking for photos…")
        self.set_paused(False)
        self.show()

    def finish(self) -> None:
        self.hide()

    def update_progress(self, progress: Progress) -> None:
        if progress.phase == PHASE_SCANNING or progress.total <= 0:
            self.bar.setRange(0, 0)
            self.label.setText(f"Looking for photos… {progress.done:,} found")
            return
        self.bar.setRange(0, progress.total)
        self.bar.setValue(progress.done)
        parts = [f"Indexing {progress.done:,} / {progress.total:,}"]
        if progress.rate > 0:
            parts.append(f"{progress.rate:,.0f} photos/s")
        if progress.eta_s is not None and progress.done < progress.total:
            parts.append(f"{format_duration(progress.eta_s)} left")
        if self.paused:
            parts.append("paused")
        self.label.setText(" · ".join(parts))

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.pause_button.setToolTip("Resume indexing" if paused else "Pause indexing")
        self.pause_button.setAccessibleName(self.pause_button.toolTip())
        if paused and not self.label.text().endswith("paused"):
            self.label.setText(self.label.text() + " · paused")

    def _toggle_pause(self) -> None:
        if self.paused:
            self.resumeRequested.emit()
        else:
            self.pauseRequested.emit()


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min", "1 h 20 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
