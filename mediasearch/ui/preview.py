"""The preview pane: the selected result, large, with its details."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from mediasearch.core.thumbs import cache_size_for
from mediasearch.ui.results_model import PathRole, RecordRole, ScoreRole, describe_record

if TYPE_CHECKING:
    from mediasearch.ui.thumbnails import ThumbnailLoader

PREVIEW_SIZE = 768  # pixels fetched for the pane; larger than it usually is, for sharpness


class PreviewPane(QWidget):
    """Follows the current result; the image arrives through the thumbnail loader."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preview")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.thumbnails = thumbnails
        self._index = QPersistentModelIndex()
        self._pixmap: QPixmap | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.name = QLabel()
        self.name.setObjectName("previewName")
        self.name.setWordWrap(True)
        self.details = QLabel()
        self.details.setObjectName("previewDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.image)
        layout.addSpacing(4)
        layout.addWidget(self.name)
        layout.addWidget(self.details)
        layout.addStretch(1)
        thumbnails.ready.connect(self._on_ready)
        self.show_index(QModelIndex())

    def show_index(self, index: QModelIndex | QPersistentModelIndex) -> None:
        self._index = QPersistentModelIndex(index)
        self._pixmap = None
        if not index.isValid():
            self.image.clear()
            self.name.setText("Nothing selected")
            self.details.setText("Select a photo to see it here.")
            return
        self.refresh()

    def refresh(self) -> None:
        if not self._index.isValid():
            self.show_index(QModelIndex())
            return
        path = str(self._index.data(PathRole))
        score = self._index.data(ScoreRole)
        record = self._index.data(RecordRole)
        self.name.setText(os.path.basename(path))
        lines = [os.path.dirname(path)]
        if isinstance(score, float):
            lines.append(f"Match: {score:.3f}")
        if record is not None:
            lines += describe_record(record)
        self.details.setText("\n".join(lines))
        digest = record.content_hash if record is not None else None
        pixmap = self.thumbnails.pixmap(path, cache_size_for(PREVIEW_SIZE), digest)
        if pixmap is None:
            pixmap = self._index.data(Qt.ItemDataRole.DecorationRole)  # the small one meanwhile
        self._pixmap = pixmap if isinstance(pixmap, QPixmap) else None
        self._rescale()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            self.image.clear()
            self.image.setFixedHeight(0)
            return
        # As wide as the pane, at most two thirds of its height: details stay in view.
        margins = self.layout().contentsMargins()
        box = QSize(
            max(64, self.width() - margins.left() - margins.right()),
            max(64, self.height() * 2 // 3),
        )
        scaled = self._pixmap.scaled(
            box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.image.setFixedHeight(scaled.height())
        self.image.setPixmap(scaled)

    def _on_ready(self, path: str, size: int) -> None:
        if self._index.isValid() and self._index.data(PathRole) == path and self.isVisible():
            self.refresh()
