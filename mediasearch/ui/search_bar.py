"""The search field: debounced text, removable query-image chips ("this photo + snow") and
the kind filter (all, photos, videos, sounds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from mediasearch.core.media.images import is_image_path
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_IMAGE, KIND_VIDEO
from mediasearch.ui.icons import icon
from mediasearch.ui.style import ACCENT
from mediasearch.ui.workers import SearchRequest

if TYPE_CHECKING:
    from PIL import Image

# Text queries cost ~10 ms on the fast backend and a newer one supersedes an older one, so
# this only skips the queries of fast typists' mid-word keystrokes; 150 ms was felt.
DEBOUNCE_MS = 60
CHIP_THUMB = 22
# The kind filter's choices: label, kinds searched (None: all), tooltip.
KIND_CHOICES: tuple[tuple[str, tuple[str, ...] | None, str], ...] = (
    ("All", None, "Search photos, videos and sounds"),
    ("Photos", (KIND_IMAGE,), "Search photos only"),
    ("Videos", (KIND_VIDEO,), "Search videos only"),
    ("Sounds", (KIND_AUDIO,), "Search sounds only"),
)
# A segmented control: a grey track with the chosen segment raised in white, like the
# toggles of the system settings apps; kept here so the widget looks right on its own.
KIND_FILTER_STYLE = f"""
#kindFilter {{ background: #e9ecf1; border-radius: 8px; }}
#kindFilter QToolButton {{
    border: none; border-radius: 6px; padding: 4px 10px; color: #4b5463; background: transparent;
}}
#kindFilter QToolButton:hover {{ color: #1d2530; }}
#kindFilter QToolButton:checked {{
    background: #ffffff; color: #1d2530; font-weight: 600; border: 1px solid #d5dbe4;
}}
#kindFilter QToolButton:focus {{ border: 1px solid {ACCENT}; }}
"""


@dataclass
class QueryImage:
    """An image in the query: a file (dropped, or a result) or pixels (pasted, from a browser)."""

    label: str
    path: str | None = None
    image: Image.Image | None = field(default=None, compare=False)
    preview: QPixmap | None = field(default=None, compare=False)


class _Chip(QFrame):
    removed = Signal(object)

    def __init__(self, item: QueryImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName("chip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(3, 2, 2, 2)
        layout.setSpacing(4)
        thumb = QLabel()
        thumb.setFixedSize(CHIP_THUMB, CHIP_THUMB)
        if item.preview is not None and not item.preview.isNull():
            thumb.setPixmap(
                item.preview.scaled(
                    CHIP_THUMB,
                    CHIP_THUMB,
                    Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            thumb.setPixmap(icon("image").pixmap(CHIP_THUMB - 4))
        text = QLabel(_elide(item.label, 22))
        text.setToolTip(item.path or item.label)
        close = QToolButton()
        close.setObjectName("chipClose")
        close.setIcon(icon("close"))
        close.setIconSize(QSize(12, 12))
        close.setAutoRaise(True)
        close.setToolTip("Remove this image from the search")
        close.setAccessibleName(f"Remove {item.label}")
        close.clicked.connect(lambda: self.removed.emit(self.item))
        layout.addWidget(thumb)
        layout.addWidget(text)
        layout.addWidget(close)


class KindFilter(QFrame):
    """Segmented buttons "All · Photos · Videos · Sounds"; emits the kinds chosen (None: all)."""

    kindsChanged = Signal(object)  # tuple[str, ...] | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kindFilter")
        self.setStyleSheet(KIND_FILTER_STYLE)
        self.setAccessibleName("Kind of media")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QToolButton] = []
        for position, (label, _kinds, tip) in enumerate(KIND_CHOICES):
            button = QToolButton()
            button.setText(label)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setAccessibleName(f"Show {label.lower()}")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.group.addButton(button, position)
            self.buttons.append(button)
            layout.addWidget(button)
        self.buttons[0].setChecked(True)
        self.group.idClicked.connect(lambda _id: self.kindsChanged.emit(self.kinds()))

    def kinds(self) -> tuple[str, ...] | None:
        return KIND_CHOICES[max(0, self.group.checkedId())][1]

    def set_kinds(self, kinds: tuple[str, ...] | None) -> None:
        """Choose the segment for `kinds` (as a click would, emitting when it changes)."""
        for position, (_label, choice, _tip) in enumerate(KIND_CHOICES):
            if choice == kinds:
                if position != self.group.checkedId():
                    self.buttons[position].setChecked(True)
                    self.kindsChanged.emit(self.kinds())
                return
        raise ValueError(f"no kind filter for {kinds!r}")


class SearchBar(QFrame):
    """Emits `requestChanged` with the whole query whenever the text, chips or kinds change."""

    requestChanged = Signal(object)  # SearchRequest
    escapePressed = Signal()
    downPressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.images: list[QueryImage] = []
        self.kinds: tuple[str, ...] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.setSpacing(6)
        lens = QLabel()
        lens.setPixmap(icon("search").pixmap(18))
        layout.addWidget(lens)
        self._chips = QHBoxLayout()
        self._chips.setSpacing(4)
        layout.addLayout(self._chips)
        self.edit = _Edit()
        self.edit.setObjectName("searchEdit")
        self.edit.setPlaceholderText("Search your photos, videos and sounds: “waves at sunset”")
        self.edit.setAccessibleName("Search")
        self.edit.setClearButtonEnabled(True)
        self.edit.setFrame(False)
        layout.addWidget(self.edit, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.edit.textChanged.connect(lambda _text: self._timer.start())
        self.edit.returnPressed.connect(self._emit)
        self.edit.escape.connect(self.escapePressed)
        self.edit.down.connect(self.downPressed)

    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def request(self) -> SearchRequest:
        return SearchRequest(
            text=self.edit.text(),
            image_paths=tuple(i.path for i in self.images if i.path),
            images=tuple(i.image for i in self.images if i.path is None and i.image is not None),
            kinds=self.kinds,
        )

    def set_kinds(self, kinds: tuple[str, ...] | None) -> None:
        """Search only these kinds of media (None: all), re-running the query."""
        if kinds != self.kinds:
            self.kinds = kinds
            self._emit()

    def add_image(self, item: QueryImage, *, keep_text: bool = True) -> None:
        """Make `item` the query image (replacing any other); keeping the typed text combines
        the two ("this photo + snow"), otherwise it is a plain "find similar"."""
        self.clear_images(emit=False)
        if not keep_text:
            self.edit.blockSignals(True)  # one search for the whole change, not two
            self.edit.clear()
            self.edit.blockSignals(False)
        chip = _Chip(item, self)
        chip.removed.connect(self.remove_image)
        self._chips.addWidget(chip)
        self.images.append(item)
        self._emit()
        self.edit.setFocus()

    def remove_image(self, item: QueryImage) -> None:
        for position in range(self._chips.count()):
            widget = self._chips.itemAt(position).widget()
            if isinstance(widget, _Chip) and widget.item is item:
                self._chips.removeWidget(widget)
                widget.deleteLater()
                break
        self.images = [i for i in self.images if i is not item]
        self._emit()

    def clear_images(self, *, emit: bool = True) -> None:
        while self._chips.count():
            widget = self._chips.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.images = []
        if emit:
            self._emit()

    def clear(self) -> None:
        self.clear_images(emit=False)
        self.edit.clear()
        self._emit()

    def _emit(self) -> None:
        self._timer.stop()
        self.requestChanged.emit(self.request())


class _Edit(QLineEdit):
    escape = Signal()
    down = Signal()
    pasteImage = Signal()  # Ctrl+V with an image (not text) on the clipboard

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste) and _clipboard_has_image():
            self.pasteImage.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escape.emit()
            return
        if event.key() == Qt.Key.Key_Down:
            self.down.emit()
            return
        if event.key() == Qt.Key.Key_Backspace and not self.text() and self.cursorPosition() == 0:
            bar = self.parent()
            if isinstance(bar, SearchBar) and bar.images:
                bar.remove_image(bar.images[-1])  # like deleting a tag in a tag field
                return
        super().keyPressEvent(event)


def _clipboard_has_image() -> bool:
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return False
    if mime.hasUrls() and any(
        u.isLocalFile() and is_image_path(u.toLocalFile()) for u in mime.urls()
    ):
        return True
    return mime.hasImage() and not mime.hasText()


def _elide(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
