"""Thumbnails off the GUI thread: a QThreadPool over the disk cache, plus a memory LRU."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

from mediasearch.core.media.errors import MediaError
from mediasearch.core.thumbs import ThumbnailCache, moment_ms

log = logging.getLogger(__name__)

# About 2,000 thumbnails of 192 px take ~300 MB as pixmaps at worst; far less for JPEG-sized
# thumbnails of non-square photos. Enough for several screens of scrolling back and forth.
MEMORY_CACHE_ITEMS = 2000

# (path, requested size, moment in ms or None): one video shows a different frame, and one
# sound a different highlighted stretch, for each query that found it at another moment.
Key = tuple[str, int, int | None]


class _LoaderSignals(QObject):
    loaded = Signal(object, QImage)  # key, image (null when it failed)


class ThumbnailLoader(QObject):
    """Hands out thumbnails by (path, size, moment): at once from memory, else later via
    `ready`.

    Decoding and scaling run on a thread pool (tests pass one that runs jobs inline); only the
    cheap QImage -> QPixmap conversion happens on the GUI thread.
    """

    ready = Signal(str, int)  # path, size: a pixmap is now in memory (or failed for good)

    def __init__(self, cache: ThumbnailCache, pool: QThreadPool | None = None) -> None:
        super().__init__()
        self.cache = cache
        self.pool = pool or QThreadPool(self)
        self._memory: OrderedDict[Key, QPixmap] = OrderedDict()
        self._pending: set[Key] = set()
        self._failed: set[Key] = set()
        self._signals = _LoaderSignals()
        self._signals.loaded.connect(self._on_loaded)

    def pixmap(
        self, path: str, size: int, digest: str | None = None, at_s: float | None = None
    ) -> QPixmap | None:
        """The thumbnail if in memory; otherwise None, and a load is queued once.

        `at_s` picks a video's frame or a sound's highlighted stretch (photos ignore it).
        """
        key = (path, size, moment_ms(at_s))
        found = self._memory.get(key)
        if found is not None:
            self._memory.move_to_end(key)
            return found
        if key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self.pool.start(_ThumbnailJob(self.cache, key, digest, self._signals))
        return None

    def failed(self, path: str, size: int, at_s: float | None = None) -> bool:
        return (path, size, moment_ms(at_s)) in self._failed

    def forget(self, path: str) -> None:
        """Drop a changed file's thumbnails from memory so they are made again."""
        for key in [k for k in self._memory if k[0] == path]:
            del self._memory[key]
        self._failed = {k for k in self._failed if k[0] != path}

    def cancel_pending(self) -> None:
        """Forget queued jobs (a new query makes them useless); running ones still finish."""
        self.pool.clear()
        self._pending.clear()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self.pool.clear()
        self.pool.waitForDone(timeout_ms)

    def _on_loaded(self, key: Key, image: QImage) -> None:
        self._pending.discard(key)
        if image.isNull():
            self._failed.add(key)
        else:
            self._memory[key] = QPixmap.fromImage(image)
            while len(self._memory) > MEMORY_CACHE_ITEMS:
                self._memory.popitem(last=False)
        self.ready.emit(key[0], key[1])


class _ThumbnailJob(QRunnable):
    def __init__(
        self, cache: ThumbnailCache, key: Key, digest: str | None, signals: _LoaderSignals
    ) -> None:
        super().__init__()
        self.cache = cache
        self.key = key
        self.digest = digest
        self.signals = signals

    def run(self) -> None:
        path, size, ms = self.key
        image = QImage()
        try:
            stored = self.cache.get(path, size, self.digest, None if ms is None else ms / 1000)
            image = load_scaled(stored, size)
        except (MediaError, OSError) as error:
            log.debug("no thumbnail for %s: %s", path, error)
        except Exception:  # one odd file must not take the pool thread down
            log.exception("thumbnail failed for %s", path)
        self.signals.loaded.emit(self.key, image)


def load_scaled(path: Path, size: int) -> QImage:
    """Read an image file scaled to fit `size` x `size`, letting the reader scale JPEGs."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    original = reader.size()
    if original.isValid() and max(original.width(), original.height()) > size:
        reader.setScaledSize(original.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()
