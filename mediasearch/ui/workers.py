"""Background work: the long-lived model/index worker thread and short search jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from mediasearch.core.indexer import IndexSummary, Progress
from mediasearch.core.responsiveness import freeze_long_lived_objects
from mediasearch.core.search import Hit, SearchFilters
from mediasearch.core.weights import ModelUnavailableError, local_weights

if TYPE_CHECKING:
    from PIL import Image

    from mediasearch.core.encoder import Encoder
    from mediasearch.core.library import Library

log = logging.getLogger(__name__)

DOWNLOAD_REPORT_INTERVAL_S = 0.25
PAUSE_POLL_S = 0.2  # how often a paused index job looks for cancel/stop while waiting


def engine_label(encoder: Encoder) -> str:
    """Where the model runs, for the status bar: "CPU, fast", "CUDA", ..."""
    device = encoder.device.split(":")[0].upper()
    return f"{device}, fast" if encoder.backend.startswith("onnx") else device


class IndexWorker(QObject):
    """Owns the model and every long job; lives on its own QThread for the app's lifetime.

    Jobs arrive as queued slot calls and run one after another. Cancel, pause and stop are
    `threading.Event`s set from the GUI thread and checked between batches, through the
    core's progress callback.
    """

    modelLoading = Signal()
    modelReady = Signal(str)  # where it runs, e.g. "CPU, fast"
    modelStatus = Signal(str)  # a long step of loading, e.g. optimising for this CPU
    modelFailed = Signal(str)  # a message a user can act on
    modelDownloading = Signal(int, int)  # bytes done, bytes total (0 when unknown)
    indexStarted = Signal(str)  # what is being indexed, for the status bar
    progress = Signal(object)  # Progress
    indexFinished = Signal(object)  # IndexSummary
    indexFailed = Signal(str)
    changesApplied = Signal(object)  # IndexSummary
    libraryReplaced = Signal(object, object)  # (new Library, IndexSummary) after a model change
    folderForgotten = Signal(str, int)  # root, files dropped
    filesRemoved = Signal(object)  # list[int]

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.cancel = threading.Event()
        self.resume = threading.Event()
        self.resume.set()
        self.stopping = threading.Event()
        self._last_download_report = 0.0

    # -- jobs (run on the worker thread) ---------------------------------------------------

    @Slot()
    def loadModel(self) -> None:
        if self.stopping.is_set():
            return
        self.modelLoading.emit()
        self.library.encoder.download_progress = self._report_download
        self.library.encoder.on_status = self.modelStatus.emit
        try:
            folder = self.library.encoder.spec.local_dir
            if folder is not None:
                local_weights(folder)  # says what is missing without first importing torch
            self.library.encoder.load()
        except ModelUnavailableError as error:
            self.modelFailed.emit(error.what)
            return
        except Exception as error:  # a broken install must show a message, not kill the thread
            log.exception("model failed to load")
            self.modelFailed.emit(f"The model could not be loaded: {error}")
            return
        # Everything loaded so far lives as long as the app: keep full garbage collections,
        # which hold the interpreter lock, from walking it again and again (stalled the GUI).
        freeze_long_lived_objects()
        self.modelReady.emit(engine_label(self.library.encoder))
        try:
            self.library.searcher.prepare()
        except Exception:  # only a head start for mixed searches: never worth a failure
            log.exception("could not prepare the search spaces")

    def _report_download(self, done: int, total: int) -> None:
        # Called per downloaded chunk: a few updates a second are plenty for a status line.
        now = time.monotonic()
        if now - self._last_download_report >= DOWNLOAD_REPORT_INTERVAL_S or done == total:
            self._last_download_report = now
            self.modelDownloading.emit(done, total)

    @Slot(object)
    def index(self, roots: list[str] | None) -> None:
        """Index `roots` (registering them), or rescan every known root when None."""
        self._run_index(roots, retry_errors=False)

    @Slot()
    def retrySkipped(self) -> None:
        """Rescan every root and read again the files that could not be read before."""
        self._run_index(None, retry_errors=True)

    def _run_index(self, roots: list[str] | None, *, retry_errors: bool) -> None:
        if self.stopping.is_set():
            return
        self.cancel.clear()
        self.indexStarted.emit(", ".join(roots) if roots else "")
        try:
            summary = self.library.index(
                roots, progress=self._report, cancel=self.cancel, retry_errors=retry_errors
            )
        except ModelUnavailableError as error:
            self.modelFailed.emit(error.what)
            self.indexFailed.emit(error.what)
            return
        except Exception as error:
            log.exception("indexing failed")
            self.indexFailed.emit(f"Indexing stopped: {error}")
            return
        self.indexFinished.emit(summary)

    @Slot(object)
    def applyChanges(self, paths: set[str]) -> None:
        """Bring specific changed, created, moved or deleted files up to date (live folders)."""
        # Always answered, even when nothing was done: the controller holds further
        # changes back until this one is through.
        summary = IndexSummary(cancelled=True)
        if not self.stopping.is_set():
            try:
                summary = self.library.apply_changes(sorted(paths), cancel=self.stopping)
            except Exception:
                log.exception("applying folder changes failed")
        self.changesApplied.emit(summary)

    @Slot(str)
    def forget(self, root: str) -> None:
        try:
            count = self.library.forget(root)
        except KeyError:
            count = 0  # never indexed (added and removed before its first scan)
        except Exception:
            log.exception("forgetting %s failed", root)
            count = 0
        self.folderForgotten.emit(root, count)

    @Slot(object)
    def removeFiles(self, ids: list[int]) -> None:
        try:
            self.library.remove_files(ids)
        except Exception:
            log.exception("removing files from the index failed")
            return
        self.filesRemoved.emit(ids)

    @Slot(object)
    def reembed(self, make_library: Callable[[], Library]) -> None:
        """Build a Library for a new model and embed everything with it, while the old one
        keeps answering searches; hands the new one over when done."""
        if self.stopping.is_set():
            return
        self.cancel.clear()
        self.modelLoading.emit()
        try:
            fresh = make_library()
            fresh.encoder.download_progress = self._report_download
            fresh.encoder.on_status = self.modelStatus.emit
            fresh.encoder.load()
        except ModelUnavailableError as error:
            self.modelFailed.emit(error.what)
            return
        except Exception as error:
            log.exception("new model failed to load")
            self.modelFailed.emit(f"The model could not be loaded: {error}")
            return
        self.modelReady.emit(engine_label(fresh.encoder))
        self.indexStarted.emit("re-embedding with the new model")
        try:
            summary = fresh.index(None, progress=self._report, cancel=self.cancel)
        except Exception as error:
            log.exception("re-embedding failed")
            fresh.close()
            self.indexFailed.emit(f"Re-embedding stopped: {error}")
            return
        self.library = fresh
        self.libraryReplaced.emit(fresh, summary)

    def _report(self, progress: Progress) -> None:
        self.progress.emit(progress)
        # Pausing blocks the indexer between batches; cancel and quit still get through.
        while not self.resume.is_set():
            if self.cancel.is_set() or self.stopping.is_set():
                return
            self.resume.wait(PAUSE_POLL_S)


# -- searches ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchRequest:
    """One query as typed and dropped: text plus query images (files or pixels), limited to
    some kinds of media ("image", "video", "audio"; None for all)."""

    text: str = ""
    image_paths: tuple[str, ...] = ()
    images: tuple[Image.Image, ...] = field(default=(), compare=False)
    k: int = 1000
    kinds: tuple[str, ...] | None = None

    @property
    def filters(self) -> SearchFilters | None:
        return SearchFilters(kinds=self.kinds) if self.kinds else None

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.image_paths and not self.images


class _SearchSignals(QObject):
    finished = Signal(int, object)  # generation, list[Hit]
    failed = Signal(int, str)  # generation, message


class SearchRunner(QObject):
    """Runs queries on a small pool, apart from the index worker so typing never waits
    behind a long index job; each result carries its query's generation number."""

    finished = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, library: Library, pool: QThreadPool | None = None) -> None:
        super().__init__()
        self.library = library
        self.pool = pool or QThreadPool(self)
        # One search at a time: a newer query waits for the current one, then older queued
        # ones are skipped, so bursts of typing cost one search, not one per key.
        self.pool.setMaxThreadCount(1)
        self.latest = 0
        self._signals = _SearchSignals()
        self._signals.finished.connect(self.finished)
        self._signals.failed.connect(self.failed)

    def submit(self, generation: int, request: SearchRequest) -> None:
        self.latest = generation
        self.pool.start(_SearchJob(self, generation, request))

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self.pool.waitForDone(timeout_ms)


class _SearchJob(QRunnable):
    def __init__(self, runner: SearchRunner, generation: int, request: SearchRequest) -> None:
        super().__init__()
        self.runner = runner
        self.generation = generation
        self.request = request

    def run(self) -> None:
        if self.generation != self.runner.latest:
            return  # superseded while queued
        signals = self.runner._signals
        try:
            hits = run_search(self.runner.library, self.request)
        except ModelUnavailableError as error:
            signals.failed.emit(self.generation, error.what)
        except Exception as error:
            log.debug("search failed", exc_info=True)
            signals.failed.emit(self.generation, str(error) or type(error).__name__)
        else:
            signals.finished.emit(self.generation, hits)


def run_search(library: Library, request: SearchRequest) -> list[Hit]:
    """Answer a request with the core's query language: image files become query terms."""
    text = request.text.strip()
    images = list(request.images)
    if not text and not images and len(request.image_paths) == 1:
        return library.similar(request.image_paths[0], request.k, filters=request.filters)
    terms = [p for p in request.image_paths if _usable_as_term(p)]
    if len(terms) < len(request.image_paths):
        from mediasearch.core.media.images import decode_image

        for path in request.image_paths:
            if path not in terms:
                images.append(decode_image(path, min_side=256).image)
    query = " + ".join([*terms, text] if text else terms)
    return library.search(query, request.k, filters=request.filters, images=images)


def _usable_as_term(path: str) -> bool:
    # The query parser splits on " + " and " - "; such a path must go in as pixels instead.
    return " + " not in path and " - " not in path


def summary_counts(summary: IndexSummary) -> str:
    """A short human description of what an index run did."""
    parts = []
    if summary.indexed:
        parts.append(f"{summary.indexed:,} added")
    if summary.moved:
        parts.append(f"{summary.moved:,} moved")
    if summary.removed:
        parts.append(f"{summary.removed:,} removed")
    if summary.skipped:
        parts.append(f"{len(summary.skipped):,} skipped")
    return ", ".join(parts) or "everything up to date"


def chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
