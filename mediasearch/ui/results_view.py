"""The thumbnail grid: an icon-mode QListView with a delegate that paints thumbnails and scores."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from mediasearch.core.media.kinds import KIND_AUDIO, KIND_VIDEO
from mediasearch.ui.results_model import BadgeRole, KindRole, ScoreRole, ThumbnailRole

MIN_THUMB = 96
MAX_THUMB = 384
THUMB_STEP = 16
CELL_PADDING = 6  # around the thumbnail inside a cell
BAR_HEIGHT = 3  # the relevance bar under each thumbnail
RADIUS = 6.0
# The time badge on videos and sounds: a dark pill in the thumbnail's bottom-left corner, dark
# enough to read on a white sky, translucent enough not to hide what it sits on.
BADGE_MARGIN = 5  # from the thumbnail's edges
BADGE_PAD = 5  # inside the pill, left and right
BADGE_FILL = QColor(16, 20, 28, 190)
BADGE_TEXT = QColor(255, 255, 255)
BADGE_POINT_SIZE = 8.0
BADGE_GLYPH_INSET = 4  # the glyph is a square this far inside the pill's top and bottom
BADGE_MIN_THUMB = 72  # smaller thumbnails keep only the glyph: a time would cover the picture


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a letterboxed thumbnail (placeholder until loaded), its selection and a thin
    relevance bar whose length is the cosine score, so strong and weak hits look different.
    Videos and sounds get a badge with the moment of their best match."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnail_size = 160
        self.cell_size = QSize(160 + 2 * CELL_PADDING, 160 + 3 * CELL_PADDING)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.cell_size

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        palette = option.palette  # type: ignore[attr-defined]
        cell = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        frame = QRect(cell.x() + 2, cell.y() + 2, cell.width() - 4, cell.height() - 4)
        if selected or hovered:
            highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
            highlight.setAlpha(90 if selected else 35)
            path = QPainterPath()
            path.addRoundedRect(frame, RADIUS, RADIUS)
            painter.fillPath(path, highlight)

        # Cells are stretched to fill the row; the thumbnail grows with its cell.
        side = cell.width() - 2 * CELL_PADDING - 2
        box = QRect(cell.x() + CELL_PADDING + 1, cell.y() + CELL_PADDING, side, side)
        pixmap = index.data(ThumbnailRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            target = _fit(pixmap.size(), box)
            clip = QPainterPath()
            clip.addRoundedRect(target, 3, 3)
            painter.setClipPath(clip)
            painter.drawPixmap(target, pixmap)
            painter.setClipping(False)
        else:
            target = box.adjusted(8, 8, -8, -8)
            placeholder = QColor(palette.color(QPalette.ColorRole.Mid))
            placeholder.setAlpha(60)
            path = QPainterPath()
            path.addRoundedRect(target, 4, 4)
            painter.fillPath(path, placeholder)

        kind = index.data(KindRole)
        if kind in (KIND_VIDEO, KIND_AUDIO):
            text = index.data(BadgeRole)
            paint_badge(painter, target, str(kind), text if isinstance(text, str) else "")

        score = index.data(ScoreRole)
        if isinstance(score, float):
            bar = QRect(box.x(), box.bottom() + 4, side, BAR_HEIGHT)
            track = QColor(palette.color(QPalette.ColorRole.Mid))
            track.setAlpha(50)
            painter.fillRect(bar, track)
            filled = QRect(bar.x(), bar.y(), round(side * max(0.0, min(1.0, score))), BAR_HEIGHT)
            painter.fillRect(filled, palette.color(QPalette.ColorRole.Highlight))

        if state & QStyle.StateFlag.State_HasFocus and selected:
            pen = painter.pen()
            pen.setColor(palette.color(QPalette.ColorRole.Highlight))
            pen.setWidthF(1.5)
            painter.setPen(pen)
            painter.drawRoundedRect(frame, RADIUS, RADIUS)
        painter.restore()


def badge_rect(target: QRect, text: str) -> QRect:
    """Where the badge of a thumbnail drawn in `target` goes (bottom-left, inside it)."""
    metrics = QFontMetrics(_badge_font())
    height = metrics.height() + 4
    glyph = height - 2 * BADGE_GLYPH_INSET  # the play triangle or sound bars
    shown = text if target.width() >= BADGE_MIN_THUMB else ""
    width = (
        BADGE_PAD
        + glyph
        + BADGE_PAD
        + (metrics.horizontalAdvance(shown) + BADGE_PAD if shown else 0)
    )
    return QRect(
        target.left() + BADGE_MARGIN, target.bottom() - BADGE_MARGIN - height + 1, width, height
    )


def paint_badge(painter: QPainter, target: QRect, kind: str, text: str) -> None:
    """A small dark pill with a glyph (a play triangle for videos, sound bars for sounds) and
    the matching moment, e.g. "1:23"."""
    rect = badge_rect(target, text)
    shown = text if target.width() >= BADGE_MIN_THUMB else ""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pill = QPainterPath()
    pill.addRoundedRect(QRectF(rect), rect.height() / 2, rect.height() / 2)
    painter.fillPath(pill, BADGE_FILL)
    glyph = rect.height() - 2 * BADGE_GLYPH_INSET
    box = QRectF(rect.left() + BADGE_PAD, rect.top() + BADGE_GLYPH_INSET, glyph, glyph)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(BADGE_TEXT)
    if kind == KIND_VIDEO:
        inset = glyph * 0.1
        triangle = QPainterPath()
        triangle.moveTo(QPointF(box.left() + inset * 1.5, box.top() + inset))
        triangle.lineTo(QPointF(box.right() - inset, box.center().y()))
        triangle.lineTo(QPointF(box.left() + inset * 1.5, box.bottom() - inset))
        triangle.closeSubpath()
        painter.drawPath(triangle)
    else:
        # Four rounded bars of a sound's loudness, like a tiny waveform.
        heights = (0.45, 0.9, 0.65, 0.3)
        bar = box.width() / (2 * len(heights) - 1)
        for position, share in enumerate(heights):
            tall = box.height() * share
            painter.drawRoundedRect(
                QRectF(
                    box.left() + 2 * position * bar,
                    box.center().y() - tall / 2,
                    bar,
                    tall,
                ),
                bar / 2,
                bar / 2,
            )
    if shown:
        painter.setFont(_badge_font())
        painter.setPen(BADGE_TEXT)
        text_rect = QRect(
            int(box.right()) + BADGE_PAD, rect.top(), rect.right() - int(box.right()), rect.height()
        )
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown
        )
    painter.restore()


def _badge_font() -> QFont:
    font = QFont()
    font.setPointSizeF(BADGE_POINT_SIZE)
    font.setWeight(QFont.Weight.DemiBold)
    # Tabular digits: "1:11" and "0:00" are as wide, so badges of a column line up.
    font.setFeature(QFont.Tag("tnum"), 1)
    return font


def _fit(size: QSize, box: QRect) -> QRect:
    scaled = size.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    x = box.x() + (box.width() - scaled.width()) // 2
    y = box.y() + (box.height() - scaled.height()) // 2
    return QRect(x, y, scaled.width(), scaled.height())


class ResultsView(QListView):
    """Uniform cells in a wrapping grid; Ctrl+wheel resizes, Space previews, Enter opens."""

    thumbnailSizeChanged = Signal(int)
    activatedPath = Signal(QModelIndex)
    previewRequested = Signal()
    contextMenuAt = Signal(QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setWrapping(True)
        self.setSpacing(2)
        self.setMouseTracking(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self.contextMenuAt)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setAccessibleName("Search results")
        self.delegate = ThumbnailDelegate(self)
        self.setItemDelegate(self.delegate)
        self.set_thumbnail_size(160)

    def thumbnail_size(self) -> int:
        return self.delegate.thumbnail_size

    def set_thumbnail_size(self, size: int) -> None:
        size = max(MIN_THUMB, min(MAX_THUMB, size))
        if size == self.delegate.thumbnail_size and self.gridSize().isValid():
            return
        self.delegate.thumbnail_size = size
        self._fit_grid()
        self.verticalScrollBar().setSingleStep(max(20, size // 4))
        self.thumbnailSizeChanged.emit(size)

    def _fit_grid(self) -> None:
        # Share the leftover width between the columns so rows fill the view edge to edge
        # instead of leaving a ragged gap on the right.
        side = self.delegate.thumbnail_size + 2 * CELL_PADDING + 2
        available = max(side, self.viewport().width() - 2 * self.spacing() - 1)
        columns = max(1, available // side)
        width = max(side, available // columns)
        grid = QSize(width, width + BAR_HEIGHT + CELL_PADDING)
        if grid != self.gridSize():
            self.delegate.cell_size = grid  # items fill their grid cell exactly
            self.setGridSize(grid)
            self.doItemsLayout()  # also drops the cached uniform item size
        model = self.model()
        if model is not None and hasattr(model, "set_thumbnail_size"):
            model.set_thumbnail_size(width - 2 * CELL_PADDING - 2)  # what is really drawn

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_grid()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.set_thumbnail_size(self.thumbnail_size() + round(steps * THUMB_STEP))
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
            self.previewRequested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activatedPath.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid():
            self.activatedPath.emit(index)
            return
        super().mouseDoubleClickEvent(event)
