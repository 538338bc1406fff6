"""The preview pane: the selected result, large, with its details; videos and sounds play here."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QHideEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO
from mediasearch.core.thumbs import cache_size_for
from mediasearch.ui.icons import icon
from mediasearch.ui.player import MediaPlayer, multimedia_classes
from mediasearch.ui.results_model import (
    KindRole,
    MomentRole,
    PathRole,
    RecordRole,
    ScoreRole,
    describe_moment,
    describe_record,
)

if TYPE_CHECKING:
    from mediasearch.ui.thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

PREVIEW_SIZE = 768  # pixels fetched for the pane; larger than it usually is, for sharpness
VIDEO_ASPECT = 9 / 16  # the player's height for its width when the video's size is unknown


class PreviewPane(QWidget):
    """Follows the current result; the image arrives through the thumbnail loader.

    A video or sound gets a player, paused at its best-matching moment, when QtMultimedia
    is installed; otherwise its still (or waveform) and an "Open in default app" button.
    """

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.thumbnails = thumbnails
        self._index = QPersistentModelIndex()
        self._pixmap: QPixmap | None = None
        self._classes: tuple[Any, Any, Any] | None = None
        self._checked_multimedia = False
        self._play_failed: str | None = None  # why the current file cannot play here
        self._show_video = False  # a video's picture replaces its poster once it plays
        self._shown: tuple[object, object] | None = None  # (path, moment) of what is shown
        self.player: MediaPlayer | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(8)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.open_button = QPushButton(icon("open"), "Open in default app")
        self.open_button.setToolTip("Play this file in the app your system uses for it")
        self.open_button.clicked.connect(self._open_externally)
        self.open_button.hide()
        self.name = QLabel()
        self.name.setObjectName("previewName")
        self.name.setWordWrap(True)
        self.details = QLabel()
        self.details.setObjectName("previewDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(self.image)
        self._player_slot = self._layout.count()  # the player goes here when first needed
        self._layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignLeft)
        self._layout.addSpacing(4)
        self._layout.addWidget(self.name)
        self._layout.addWidget(self.details)
        self._layout.addStretch(1)
        thumbnails.ready.connect(self._on_ready)
        self.show_index(QModelIndex())

    # -- what is shown ---------------------------------------------------------------------

    def can_play(self) -> bool:
        """Whether videos and sounds can play in the pane (QtMultimedia is installed)."""
        if not self._checked_multimedia:
            self._checked_multimedia = True
            self._classes = multimedia_classes()
        return self._classes is not None

    def show_index(self, index: QModelIndex | QPersistentModelIndex) -> None:
        # Results are re-run while indexing: the same file at the same moment, in a new row,
        # keeps playing as it was.
        shown = (index.data(PathRole), index.data(MomentRole)) if index.isValid() else None
        if shown != self._shown:
            self._shown = shown
            self._play_failed = None
            self._show_video = False
        self._index = QPersistentModelIndex(index)
        self._pixmap = None
        if not index.isValid():
            self._unload()
            self.image.clear()
            self.image.setFixedHeight(0)
            self.open_button.hide()
            self.name.setText("Nothing selected")
            self.details.setText("Select a result to see it here.")
            return
        self.refresh()

    def play_index(self, index: QModelIndex | QPersistentModelIndex) -> None:
        """Show a video or sound and play it from its best-matching moment; pause it when it
        is already playing."""
        self.show_index(index)
        if self.player is None or self.player.path is None or self._play_failed:
            return
        if self.player.playing:
            self.player.player.pause()
        else:
            self.player.play()

    def refresh(self) -> None:
        if not self._index.isValid():
            self.show_index(QModelIndex())
            return
        path = str(self._index.data(PathRole))
        score = self._index.data(ScoreRole)
        record = self._index.data(RecordRole)
        kind = str(self._index.data(KindRole) or "")
        moment = self._index.data(MomentRole)
        at_s = float(moment) if isinstance(moment, float | int) else None
        self.name.setText(os.path.basename(path))
        lines = [os.path.dirname(path)]
        if isinstance(score, float):
            lines.append(f"Match: {score:.3f}")
        lines += describe_moment(kind, at_s)
        if record is not None:
            lines += describe_record(record)
        if self._play_failed:
            lines.append(f"Cannot play here: {self._play_failed}")
        self.details.setText("\n".join(lines))

        timed = kind in (KIND_VIDEO, KIND_AUDIO)
        playable = timed and self.can_play() and not self._play_failed
        if playable:
            player = self._ensure_player()
            player.load(path, at_s)
            player.video.setVisible(kind == KIND_VIDEO and self._show_video)
            player.show()
        else:
            self._unload()
        self.open_button.setVisible(timed and not playable)

        digest = record.content_hash if record is not None else None
        pixmap = self.thumbnails.pixmap(
            path, cache_size_for(PREVIEW_SIZE), digest, at_s if timed else None
        )
        if pixmap is None:
            pixmap = self._index.data(Qt.ItemDataRole.DecorationRole)  # the small one meanwhile
        if isinstance(pixmap, QPixmap):
            # Else keep what is shown: a loader that answers at once has already refreshed.
            self._pixmap = pixmap
        self._rescale()

    # -- the player ------------------------------------------------------------------------

    def _ensure_player(self) -> MediaPlayer:
        if self.player is None:
            assert self._classes is not None
            self.player = MediaPlayer(self._classes)
            self.player.failed.connect(self._on_play_failed)
            self.player.engaged.connect(self._on_engaged)
            self._layout.insertWidget(self._player_slot, self.player)
        return self.player

    def _unload(self) -> None:
        if self.player is not None:
            self.player.unload()
            self.player.hide()

    def _on_engaged(self) -> None:
        # A video's poster (the frame at the match, sharp and instant) gives way to the
        # moving picture once it plays or is sought.
        if self.player is not None and self._index.data(KindRole) == KIND_VIDEO:
            self._show_video = True
            self.player.video.setVisible(True)
            self._rescale()

    def _on_play_failed(self, message: str) -> None:
        self._play_failed = message
        self._show_video = False
        self.refresh()

    def _open_externally(self) -> None:
        if self._index.isValid():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._index.data(PathRole))))

    # -- sizing ----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def hideEvent(self, event: QHideEvent) -> None:
        if self.player is not None and self.player.playing:
            self.player.player.pause()  # a hidden pane must not keep talking
        super().hideEvent(event)

    def _box(self) -> QSize:
        # As wide as the pane, at most two thirds of its height: details stay in view.
        margins = self._layout.contentsMargins()
        return QSize(
            max(64, self.width() - margins.left() - margins.right()),
            max(64, self.height() * 2 // 3),
        )

    def _rescale(self) -> None:
        box = self._box()
        video = self.player is not None and not self.player.isHidden() and self._show_video
        if video and self.player is not None:
            shape = self._pixmap.size() if self._pixmap is not None else None
            ratio = shape.height() / shape.width() if shape and shape.width() else VIDEO_ASPECT
            self.player.video.setFixedHeight(min(box.height(), round(box.width() * ratio)))
            self.image.clear()
            self.image.setFixedHeight(0)
            return
        if self._pixmap is None or self._pixmap.isNull():
            self.image.clear()
            self.image.setFixedHeight(0)
            return
        scaled = self._pixmap.scaled(
            box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.image.setFixedHeight(scaled.height())
        self.image.setPixmap(scaled)

    def _on_ready(self, path: str, size: int) -> None:
        if self._index.isValid() and self._index.data(PathRole) == path and self.isVisible():
            self.refresh()
