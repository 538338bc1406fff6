"""The in-app player for videos and sounds (QtMultimedia, when it is installed)."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mediasearch.core.media.kinds import clock
from mediasearch.ui.icons import icon

log = logging.getLogger(__name__)

# Paused players stay loaded; a result shown again at a moment this close keeps its place.
SAME_MOMENT_MS = 1


def multimedia_classes() -> tuple[Any, Any, Any] | None:
    """(QMediaPlayer, QAudioOutput, QVideoWidget), or None when QtMultimedia is missing.

    QtMultimedia ships in the optional PySide6-Addons wheel (the `player` extra), and on
    Linux it also needs the system's PulseAudio client library: either can be absent.
    """
    try:
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
        from PySide6.QtMultimediaWidgets import QVideoWidget
    except (ImportError, OSError) as error:
        log.info("in-app playback unavailable: %s", error)
        return None
    return QMediaPlayer, QAudioOutput, QVideoWidget


class MediaPlayer(QWidget):
    """A video surface (hidden for sounds) over play/pause, a position slider and the time.

    `load` opens a file paused at a moment; the seek waits until the media is loaded, since
    a position set before that is lost.
    """

    failed = Signal(str)  # the file cannot be played here (a codec Qt's FFmpeg lacks, ...)
    engaged = Signal()  # played or sought: a video's poster still gives way to the picture

    def __init__(self, classes: tuple[Any, Any, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        player_class, audio_class, video_class = classes
        self.player = player_class(self)
        self.audio = audio_class(self)
        self.player.setAudioOutput(self.audio)
        self.video = video_class()
        self.video.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.player.setVideoOutput(self.video)
        self.path: str | None = None
        self.at_ms = 0
        self._seek_ms: int | None = None  # a position to set once the media is loaded
        self._play_when_loaded = False
        self._loaded = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.video)
        controls = QHBoxLayout()
        controls.setSpacing(6)
        self.play_button = QToolButton()
        self.play_button.setIcon(icon("play"))
        self.play_button.setIconSize(QSize(16, 16))
        self.play_button.setAutoRaise(True)
        self.play_button.setToolTip("Play (Enter)")
        self.play_button.setAccessibleName("Play")
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Position")
        self.slider.setRange(0, 0)
        self.slider.sliderMoved.connect(self._on_slider_moved)
        self.slider.sliderPressed.connect(self.engaged)
        self.slider.sliderReleased.connect(lambda: self.seek(self.slider.value()))
        self.time_label = QLabel("0:00")
        self.time_label.setObjectName("previewDetails")
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        layout.addLayout(controls)

        media_status = type(self.player).MediaStatus
        self._ready_states = {media_status.LoadedMedia, media_status.BufferedMedia}
        self._invalid_state = media_status.InvalidMedia
        self._playing_state = type(self.player).PlaybackState.PlayingState
        self.player.mediaStatusChanged.connect(self._on_status)
        self.player.positionChanged.connect(self._on_position)
        self.player.durationChanged.connect(self._on_duration)
        self.player.playbackStateChanged.connect(self._on_state)
        self.player.errorOccurred.connect(self._on_error)

    # -- commands --------------------------------------------------------------------------

    def load(self, path: str, at_s: float | None) -> None:
        """Open `path` paused at `at_s` (unless it is already open there)."""
        at_ms = round((at_s or 0.0) * 1000)
        if path == self.path and abs(at_ms - self.at_ms) <= SAME_MOMENT_MS:
            return
        same_file = path == self.path and self._loaded
        self.path, self.at_ms = path, at_ms
        self._play_when_loaded = False
        if same_file:
            self.player.pause()
            self.seek(at_ms)
            return
        self._loaded = False
        self._seek_ms = at_ms
        self.slider.setRange(0, 0)
        self.time_label.setText(clock(at_ms / 1000))
        self.player.setSource(QUrl.fromLocalFile(path))

    def play(self) -> None:
        if self._loaded:
            self.player.play()
        else:
            self._play_when_loaded = True

    def toggle(self) -> None:
        if self.playing:
            self.player.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        if self._loaded:
            self.player.setPosition(ms)
        else:
            self._seek_ms = ms

    def unload(self) -> None:
        """Stop and let go of the file (so it can be moved or deleted meanwhile)."""
        if self.path is None:
            return
        self.player.stop()
        self.player.setSource(QUrl())
        self.path = None
        self._loaded = False

    @property
    def playing(self) -> bool:
        return bool(self.player.playbackState() == self._playing_state)

    def position_ms(self) -> int:
        return int(self.player.position()) if self._loaded else (self._seek_ms or 0)

    # -- player events ---------------------------------------------------------------------

    def _on_status(self, status: object) -> None:
        if status == self._invalid_state:
            self._on_error(None, self.player.errorString() or "cannot play this file")
            return
        if status not in self._ready_states or self._loaded:
            return
        self._loaded = True
        # Paused first: a stopped player forgets a position set before it starts.
        self.player.pause()
        if self._seek_ms is not None:
            self.player.setPosition(self._seek_ms)
            self._seek_ms = None
        if self._play_when_loaded:
            self._play_when_loaded = False
            self.player.play()

    def _on_position(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self._show_time(ms)

    def _on_duration(self, ms: int) -> None:
        self.slider.setRange(0, max(0, ms))
        self._show_time(self.player.position())

    def _on_state(self, _state: object) -> None:
        playing = self.playing
        self.play_button.setIcon(icon("pause" if playing else "play"))
        self.play_button.setToolTip("Pause" if playing else "Play (Enter)")
        self.play_button.setAccessibleName("Pause" if playing else "Play")
        if playing:
            self.engaged.emit()

    def _on_error(self, _error: object, message: str) -> None:
        log.info("cannot play %s: %s", self.path, message)
        self.failed.emit(message or "cannot play this file here")

    def _on_slider_moved(self, ms: int) -> None:
        self._show_time(ms)
        self.seek(ms)

    def _show_time(self, ms: int) -> None:
        total = self.player.duration()
        text = clock(ms / 1000)
        self.time_label.setText(f"{text} / {clock(total / 1000)}" if total > 0 else text)
