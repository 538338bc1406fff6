"""The ranked results as a list model: id, score, path and moment per row; the rest lazily."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
)

from mediasearch.core.media.kinds import KIND_AUDIO, KIND_IMAGE, KIND_VIDEO, clock
from mediasearch.core.thumbs import cache_size_for

if TYPE_CHECKING:
    from mediasearch.core.catalog import FileRecord
    from mediasearch.core.search import Hit
    from mediasearch.ui.thumbnails import ThumbnailLoader

log = logging.getLogger(__name__)

FileIdRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
RecordRole = Qt.ItemDataRole.UserRole + 4  # FileRecord or None until fetched
KindRole = Qt.ItemDataRole.UserRole + 5  # "image", "video" or "audio"
MomentRole = Qt.ItemDataRole.UserRole + 6  # seconds into a video or sound of the best match
DurationRole = Qt.ItemDataRole.UserRole + 7  # a video's or sound's length in seconds, or None
BadgeRole = Qt.ItemDataRole.UserRole + 8  # the time shown on a video's or sound's thumbnail
ThumbnailRole = Qt.ItemDataRole.DecorationRole

METADATA_BATCH = 200  # ids per catalog query; a screenful is well under this

AnyIndex = QModelIndex | QPersistentModelIndex
Fetch = Callable[[list[int]], "dict[int, FileRecord]"]


class _FetchSignals(QObject):
    fetched = Signal(object)  # dict[int, FileRecord]


class MetadataFetcher(QObject):
    """Collects ids asked for during painting and fetches their catalog rows off the GUI
    thread, one query per event-loop turn."""

    fetched = Signal(object)

    def __init__(self, fetch: Fetch, pool: QThreadPool | None = None) -> None:
        super().__init__()
        self.fetch = fetch
        self.pool = pool or QThreadPool.globalInstance()
        self._wanted: list[int] = []
        self._asked: set[int] = set()
        self._signals = _FetchSignals()
        self._signals.fetched.connect(self.fetched)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._flush)

    def request(self, file_id: int) -> None:
        if file_id in self._asked:
            return
        self._asked.add(file_id)
        self._wanted.append(file_id)
        self._timer.start()

    def reset(self) -> None:
        self._wanted.clear()
        self._asked.clear()

    def _flush(self) -> None:
        wanted, self._wanted = self._wanted, []
        for start in range(0, len(wanted), METADATA_BATCH):
            self.pool.start(
                _FetchJob(self.fetch, wanted[start : start + METADATA_BATCH], self._signals)
            )


class _FetchJob(QRunnable):
    def __init__(self, fetch: Fetch, ids: list[int], signals: _FetchSignals) -> None:
        super().__init__()
        self.fetch = fetch
        self.ids = ids
        self.signals = signals

    def run(self) -> None:
        try:
            found = self.fetch(self.ids)
        except Exception:
            log.exception("metadata fetch failed")
            found = {}
        self.signals.fetched.emit(found)


class ResultsModel(QAbstractListModel):
    """Ranked hits, best first; rows below the relevance threshold are held back, not shown.

    Only ids, scores, paths and moments live here: a 100 000-row result is a few MB. Catalog
    details and thumbnails are asked for when a row is first painted and arrive via
    `dataChanged`. A video or sound row keeps the moment its best match is at, so its
    thumbnail shows that moment.
    """

    hiddenCountChanged = Signal(int)  # weak matches held back by the threshold

    def __init__(
        self,
        thumbnails: ThumbnailLoader | None = None,
        metadata: MetadataFetcher | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.metadata = metadata
        self.thumbnail_size = 160
        self.threshold = 0.0
        self._ids: list[int] = []
        self._scores: list[float] = []
        self._negated: list[float] = []  # -score, ascending, for bisecting the threshold
        self._paths: list[str] = []
        self._kinds: list[str] = []
        self._moments: list[float | None] = []
        self._durations: list[float | None] = []
        self._records: dict[int, FileRecord] = {}
        self._row_of_id: dict[int, int] = {}
        self._rows_of_path: dict[str, int] = {}
        self._visible = 0
        if thumbnails is not None:
            thumbnails.ready.connect(self._on_thumbnail)
        if metadata is not None:
            metadata.fetched.connect(self._on_metadata)

    # -- content ---------------------------------------------------------------------------

    def set_hits(self, hits: Sequence[Hit]) -> None:
        """Replace the results (hits must be sorted best first, as the core returns them)."""
        self.beginResetModel()
        self._ids = [h.file_id for h in hits]
        self._scores = [h.score for h in hits]
        self._negated = [-s for s in self._scores]
        self._paths = [h.path for h in hits]
        self._kinds = [h.kind for h in hits]
        self._moments = [h.at_s for h in hits]
        self._durations = [h.duration_s for h in hits]
        self._records = {}
        self._row_of_id = {file_id: row for row, file_id in enumerate(self._ids)}
        self._rows_of_path = {path: row for row, path in enumerate(self._paths)}
        self._visible = self._count_above(self.threshold)
        if self.metadata is not None:
            self.metadata.reset()
        self.endResetModel()
        self.hiddenCountChanged.emit(self.hidden_count)

    def clear(self) -> None:
        self.set_hits([])

    def set_threshold(self, threshold: float) -> None:
        """Show only rows scoring at least `threshold` (all rows for 0 or less); rows come and
        go at the end."""
        self.threshold = threshold
        visible = self._count_above(threshold)
        if visible > self._visible:
            self.beginInsertRows(QModelIndex(), self._visible, visible - 1)
            self._visible = visible
            self.endInsertRows()
        elif visible < self._visible:
            self.beginRemoveRows(QModelIndex(), visible, self._visible - 1)
            self._visible = visible
            self.endRemoveRows()
        self.hiddenCountChanged.emit(self.hidden_count)

    def set_thumbnail_size(self, size: int) -> None:
        if size == self.thumbnail_size:
            return
        self.thumbnail_size = size
        if self._visible:
            self.dataChanged.emit(self.index(0), self.index(self._visible - 1), [ThumbnailRole])

    def remove_ids(self, ids: Sequence[int]) -> None:
        """Take rows out (files removed from the index or deleted on disk)."""
        gone = set(ids)
        if not gone.intersection(self._row_of_id):
            return
        hits = [
            _Row(*row)
            for row in zip(
                self._ids,
                self._scores,
                self._paths,
                self._kinds,
                self._moments,
                self._durations,
                strict=True,
            )
            if row[0] not in gone
        ]
        records = self._records
        self.set_hits(hits)  # type: ignore[arg-type]
        self._records = {k: v for k, v in records.items() if k not in gone}

    @property
    def total_count(self) -> int:
        return len(self._ids)

    @property
    def hidden_count(self) -> int:
        return len(self._ids) - self._visible

    def best_score(self) -> float | None:
        return self._scores[0] if self._scores else None

    def _count_above(self, threshold: float) -> int:
        if threshold <= 0:
            return len(self._ids)  # 0 means "no cut": cosine scores can be negative
        return bisect.bisect_right(self._negated, -threshold)

    # -- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._visible

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < self._visible:
            return None
        row = index.row()
        file_id = self._ids[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(self._paths[row])
        if role == ThumbnailRole:
            if self.thumbnails is None:
                return None
            record = self._record(file_id)
            digest = record.content_hash if record is not None else None
            return self.thumbnails.pixmap(
                self._paths[row], cache_size_for(self.thumbnail_size), digest, self._moments[row]
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row)
        if role == FileIdRole:
            return file_id
        if role == ScoreRole:
            return self._scores[row]
        if role == PathRole:
            return self._paths[row]
        if role == RecordRole:
            return self._record(file_id)
        if role == KindRole:
            return self._kinds[row]
        if role == MomentRole:
            return self._moments[row]
        if role == DurationRole:
            return self._duration(row)
        if role == BadgeRole:
            return self.badge(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._accessible(row)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        # Dragging results out hands other apps the files themselves.
        mime = QMimeData()
        paths = [self._paths[i.row()] for i in indexes if 0 <= i.row() < self._visible]
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        mime.setText("\n".join(paths))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # -- lazy parts ------------------------------------------------------------------------

    def _record(self, file_id: int) -> FileRecord | None:
        record = self._records.get(file_id)
        if record is None and self.metadata is not None:
            self.metadata.request(file_id)
        return record

    def _duration(self, row: int) -> float | None:
        duration = self._durations[row]
        if duration is None:
            record = self._records.get(self._ids[row])
            duration = record.duration_s if record is not None else None
        return duration

    def badge(self, row: int) -> str | None:
        """The time on a video's or sound's thumbnail: where its best match is, else its
        length; None for photos."""
        if self._kinds[row] == KIND_IMAGE:
            return None
        moment = self._moments[row]
        if moment is not None:
            return clock(moment)
        duration = self._duration(row)
        return clock(duration) if duration is not None else ""

    def tooltip(self, row: int) -> str:
        path = self._paths[row]
        lines = [path, f"Match: {self._scores[row]:.3f}"]
        lines += describe_moment(self._kinds[row], self._moments[row])
        record = self._record(self._ids[row])
        duration = self._durations[row]
        if record is not None:
            lines += describe_record(record)
        elif duration is not None:
            lines.append(f"Length: {clock(duration)}")
        return "\n".join(lines)

    def _accessible(self, row: int) -> str:
        name = os.path.basename(self._paths[row])
        parts = [name, KIND_NAMES.get(self._kinds[row], "file")]
        parts += [line.lower() for line in describe_moment(self._kinds[row], self._moments[row])]
        parts.append(f"match {self._scores[row]:.2f}")
        return ", ".join(parts)

    def _on_metadata(self, found: dict[int, FileRecord]) -> None:
        rows = []
        for file_id, record in found.items():
            row = self._row_of_id.get(file_id)
            if row is not None:
                self._records[file_id] = record
                if row < self._visible:
                    rows.append(row)
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def _on_thumbnail(self, path: str, _size: int) -> None:
        row = self._rows_of_path.get(path)
        if row is not None and row < self._visible:
            index = self.index(row)
            self.dataChanged.emit(index, index, [ThumbnailRole])


class _Row:
    """A hit-shaped row kept when rows are removed (only the fields set_hits reads)."""

    __slots__ = ("at_s", "duration_s", "file_id", "kind", "path", "score")

    def __init__(
        self,
        file_id: int,
        score: float,
        path: str,
        kind: str = KIND_IMAGE,
        at_s: float | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.file_id = file_id
        self.score = score
        self.path = path
        self.kind = kind
        self.at_s = at_s
        self.duration_s = duration_s


KIND_NAMES = {KIND_IMAGE: "photo", KIND_VIDEO: "video", KIND_AUDIO: "sound"}


def describe_moment(kind: str, at_s: float | None) -> list[str]:
    """ "Best match at 1:23" for a video or sound found at a moment; nothing otherwise."""
    if kind == KIND_IMAGE or at_s is None:
        return []
    return [f"Best match at {clock(at_s)}"]


def describe_record(record: FileRecord) -> list[str]:
    """Human lines for a file: when taken (or modified), length, dimensions and size."""
    lines = []
    when = record.captured_at
    label = "Taken"
    if when is None:
        when, label = record.mtime_ns / 1e9, "Modified"
    lines.append(f"{label}: {dt.datetime.fromtimestamp(when).strftime('%d %b %Y, %H:%M')}")
    if record.duration_s is not None and record.kind != KIND_IMAGE:
        lines.append(f"Length: {clock(record.duration_s)}")
    if record.width and record.height:
        lines.append(f"Size: {record.width} \u00d7 {record.height} px, {human_size(record.size)}")
    else:
        lines.append(f"Size: {human_size(record.size)}")
    if record.error:
        lines.append(f"Skipped: {record.error}")
    return lines


def human_size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
