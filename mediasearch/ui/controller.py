"""The one object widgets talk to: owns the worker thread, searches, thumbnails and watchers."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QThreadPool, QTimer, Signal

from mediasearch.config import Settings, cache_dir
from mediasearch.core.catalog import Catalog, FileRecord
from mediasearch.core.indexer import IndexSummary, Progress
from mediasearch.core.library import Library
from mediasearch.core.search import Hit
from mediasearch.core.thumbs import ThumbnailCache
from mediasearch.ui.results_model import MetadataFetcher
from mediasearch.ui.tasks import TaskRunner
from mediasearch.ui.thumbnails import ThumbnailLoader
from mediasearch.ui.workers import IndexWorker, SearchRequest, SearchRunner

if TYPE_CHECKING:
    from mediasearch.core.watcher import FolderWatcher

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 8000  # the model load cannot be interrupted; a batch finishes well within this
# Changes wait this long for more to join them; measured from the first, so a steady stream
# of files cannot put the update off for ever.
APPLY_DELAY_MS = 100
RESULT_LIMIT = 1000  # hits asked of the index per query; weak ones are held back by threshold

MODEL_LOADING = "loading"
MODEL_READY = "ready"
MODEL_FAILED = "failed"

LibraryFactory = Callable[[Settings], Library]


class Controller(QObject):
    """Adapts the headless core to signals and keeps all background work in one place."""

    modelStateChanged = Signal(str, str)  # state, detail (device or error message)
    modelDownloading = Signal(int, int)  # bytes done, bytes total (0 when unknown)
    modelMissing = Signal(str)  # the weights are not there: ask the user for a folder
    resultsReady = Signal(object, object)  # list[Hit], SearchRequest (latest query only)
    searchFailed = Signal(str)
    indexingChanged = Signal(bool)
    indexProgress = Signal(object)  # Progress
    indexFinished = Signal(object)  # IndexSummary
    libraryChanged = Signal()  # files came or went: re-run the query
    foldersChanged = Signal(object)  # list[tuple[str, str]]: (root, "native"/"polling"/"")
    filesRemoved = Signal(object)  # list[int]
    message = Signal(str)  # a short note for the status bar
    pausedChanged = Signal(bool)

    # Queued calls into the worker thread (signals cross threads safely; direct calls do not).
    _loadModel = Signal()
    _index = Signal(object)
    _retrySkipped = Signal()
    _applyChanges = Signal(object)
    _forget = Signal(str)
    _removeFiles = Signal(object)
    _reembed = Signal(object)
    _changesFromWatcher = Signal(object)
    _watchRestarted = Signal(str, str)  # root, mode: from the watcher's thread

    def __init__(
        self,
        library: Library,
        settings: Settings,
        home: Path,
        *,
        make_library: LibraryFactory | None = None,
        thumbnail_pool: QThreadPool | None = None,
        watch: bool = True,
    ) -> None:
        super().__init__()
        self.library = library
        self.settings = settings
        self.home = home
        self.make_library = make_library or (lambda s: default_library(home, s))
        self.model_state = MODEL_LOADING
        self.model_detail = ""
        self.indexing = False
        self.paused = False
        self.last_summary: IndexSummary | None = None
        self.last_progress: Progress | None = None
        self._generation = 0
        self._request = SearchRequest()
        self._jobs = 0  # index jobs queued or running on the worker
        self._watch_modes: dict[str, str] = {}
        self._reader: Catalog | None = None
        self._reader_lock = threading.Lock()
        self._stopped = False
        self.stopped_cleanly = True

        self.thread = QThread()
        self.thread.setObjectName("mediasearch-worker")
        self.worker = IndexWorker(library)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._loadModel.connect(self.worker.loadModel)
        self._index.connect(self.worker.index)
        self._retrySkipped.connect(self.worker.retrySkipped)
        self._applyChanges.connect(self.worker.applyChanges)
        self._forget.connect(self.worker.forget)
        self._removeFiles.connect(self.worker.removeFiles)
        self._reembed.connect(self.worker.reembed)
        self.worker.modelLoading.connect(self._on_model_loading)
        self.worker.modelStatus.connect(self.message)
        self.worker.modelDownloading.connect(self.modelDownloading)
        self.worker.modelReady.connect(self._on_model_ready)
        self.worker.modelFailed.connect(self._on_model_failed)
        self.worker.progress.connect(self._on_progress)
        self.worker.indexFinished.connect(self._on_index_finished)
        self.worker.indexFailed.connect(self._on_index_failed)
        self.worker.changesApplied.connect(self._on_changes_applied)
        self.worker.libraryReplaced.connect(self._on_library_replaced)
        self.worker.folderForgotten.connect(self._on_folder_forgotten)
        self.worker.filesRemoved.connect(self._on_files_removed)

        self.searches = SearchRunner(library)
        self.searches.finished.connect(self._on_search_finished)
        self.searches.failed.connect(self._on_search_failed)
        self.tasks = TaskRunner()
        self.thumbnails = ThumbnailLoader(
            ThumbnailCache(cache_dir(home)), thumbnail_pool or _thumbnail_pool(self)
        )
        self.metadata = MetadataFetcher(self._fetch_records, self.tasks.pool)

        self.watcher: FolderWatcher | None = None
        self._changesFromWatcher.connect(self._on_changes)
        self._watchRestarted.connect(self._on_watch_restarted)
        if watch:
            self.watcher = _make_watcher(self._changesFromWatcher.emit, self._watchRestarted.emit)
        # Changes that arrive while an update runs are merged into one follow-up update: a
        # flood of files then makes a few large updates (whole encoder batches), not many
        # small ones each followed by a refresh of the results.
        self._changed: set[str] = set()
        self._applying = False
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(APPLY_DELAY_MS)
        self._apply_timer.timeout.connect(self._flush_changes)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Load the model and catch up with what changed while the app was closed."""
        self.thread.start()
        self._loadModel.emit()
        roots = self.roots()
        for root in roots:
            self._watch(root)
        self._publish_folders()
        if self.library.recovery is not None:
            # The catalog was damaged and restored from a backup; the rescan below fills in.
            self.message.emit(self.library.recovery.message())
        if roots:
            self._queue_index(None)

    def shutdown(self) -> None:
        """Stop everything: cancel jobs, stop watchers, end the worker thread, close files."""
        if self._stopped:
            return
        self._stopped = True
        self._apply_timer.stop()
        # Results still queued for the GUI thread must not reach a closed library.
        self.worker.blockSignals(True)
        self.searches.blockSignals(True)
        self.worker.stopping.set()
        self.worker.cancel.set()
        self.worker.resume.set()
        self.library.encoder.cancel_download.set()
        if self.watcher is not None:
            self.watcher.stop()
        self.thread.quit()
        if not self.thread.wait(STOP_TIMEOUT_MS):
            # Only a model download stuck in a network call gets here; run_app then ends
            # the process without running the QThread destructor (which would abort).
            log.warning("the worker did not stop in time; leaving it to the OS")
            self.stopped_cleanly = False
            return
        self.thumbnails.shutdown()
        self.searches.wait()
        self.tasks.wait()
        for library in {
            id(self.library): self.library,
            id(self.worker.library): self.worker.library,
        }.values():
            try:
                library.close()
            except Exception:
                log.exception("closing the library failed")
        if self._reader is not None:
            self._reader.close()

    # -- searching -------------------------------------------------------------------------

    @property
    def request(self) -> SearchRequest:
        return self._request

    def search(self, request: SearchRequest) -> None:
        """Run a query; results of any earlier query still running are dropped."""
        if self._stopped:
            return
        self._generation += 1
        self._request = replace(request, k=RESULT_LIMIT)
        if self._request.empty:
            self.searches.latest = self._generation
            self.resultsReady.emit([], self._request)
            return
        self.searches.submit(self._generation, self._request)

    def refresh(self) -> None:
        if self._stopped:
            return
        """Re-run the current query (files were added or removed)."""
        if not self._request.empty:
            self.search(self._request)

    def _on_search_finished(self, generation: int, hits: list[Hit]) -> None:
        if generation == self._generation:
            self.resultsReady.emit(hits, self._request)

    def _on_search_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.searchFailed.emit(message)

    # -- folders and indexing --------------------------------------------------------------

    def roots(self) -> list[str]:
        # A few rows from SQLite, read on the reader connection: the writer's may be held by
        # a long index transaction, and the GUI thread must never wait for it.
        if self._stopped:
            return []
        return sorted(self._read(lambda c: c.roots()).values())

    def add_folder(self, path: str) -> None:
        root = os.path.abspath(path)
        self._watch(root)
        self._publish_folders(extra=[root])
        self._queue_index([root])

    def remove_folder(self, root: str) -> None:
        if self.watcher is not None:
            self.watcher.unwatch(root)
        self._watch_modes.pop(root, None)
        was_indexing = self.indexing
        if was_indexing:
            # A scan of the folder being removed must not run on; the rest is resumed after.
            self.worker.cancel.set()
        self._forget.emit(root)
        self._publish_folders(without=root)
        if was_indexing:
            self._queue_index(None)

    def rescan(self) -> None:
        self._queue_index(None)

    def pause(self) -> None:
        self.paused = True
        self.worker.resume.clear()
        self.pausedChanged.emit(True)

    def resume(self) -> None:
        self.paused = False
        self.worker.resume.set()
        self.pausedChanged.emit(False)

    def cancel(self) -> None:
        self.worker.cancel.set()
        self.resume()

    def skipped_files(self, on_done: Callable[[list[FileRecord]], None]) -> None:
        """Files the indexer could not read, with reasons, delivered on the GUI thread."""
        self.tasks.run(lambda: self._read(lambda c: c.files_with_status("error")), on_done)

    def _on_files_removed(self, ids: list[int]) -> None:
        if self._stopped:
            return
        self.filesRemoved.emit(ids)
        self.libraryChanged.emit()

    def remove_from_index(self, ids: list[int]) -> None:
        self._removeFiles.emit(list(ids))

    def retry_skipped(self) -> None:
        """Read again the files that could not be read (e.g. after fixing permissions)."""
        self._queue_index(None, retry_errors=True)

    def _queue_index(self, roots: list[str] | None, *, retry_errors: bool = False) -> None:
        if self.model_state == MODEL_FAILED:
            self.message.emit("Choose a model before indexing.")
            return
        self._jobs += 1
        self._set_indexing(True)
        if retry_errors:
            self._retrySkipped.emit()
        else:
            self._index.emit(roots)

    def _set_indexing(self, active: bool) -> None:
        if active != self.indexing:
            self.indexing = active
            self.indexingChanged.emit(active)

    def _job_done(self) -> None:
        self._jobs = max(0, self._jobs - 1)
        if self._jobs == 0:
            self.last_progress = None
            self._set_indexing(False)
            if self.paused:
                self.resume()

    def _on_progress(self, progress: Progress) -> None:
        if self._stopped:
            return
        self.last_progress = progress
        self.indexProgress.emit(progress)

    def _on_index_finished(self, summary: IndexSummary) -> None:
        if self._stopped:
            return
        self.last_summary = summary
        self._job_done()
        self._publish_folders()
        self.indexFinished.emit(summary)
        self.libraryChanged.emit()

    def _on_index_failed(self, message: str) -> None:
        if self._stopped:
            return
        self._job_done()
        self.message.emit(message)

    def _on_folder_forgotten(self, root: str, count: int) -> None:
        if self._stopped:
            return
        self._publish_folders()
        self.libraryChanged.emit()
        self.message.emit(f"Removed {root} ({count:,} files) from the library")

    def _publish_folders(self, extra: Sequence[str] = (), without: str | None = None) -> None:
        roots = sorted({*self.roots(), *extra} - {without})
        self.foldersChanged.emit([(r, self._watch_modes.get(r, "")) for r in roots])

    # -- live folders ----------------------------------------------------------------------

    def _watch(self, root: str) -> None:
        if self.watcher is None or root in self._watch_modes:
            return
        try:
            mode = self.watcher.watch(root)
        except Exception as error:  # an unplugged drive: keep the folder, say why it is idle
            log.warning("cannot watch %s: %s", root, error)
            self._watch_modes[root] = "off"
            return
        self._watch_modes[root] = mode
        if mode == "polling":
            self.message.emit(f"Watching {root} by polling: the system could not watch it live")

    def _on_changes(self, paths: set[str]) -> None:
        if self._stopped:
            return
        for path in paths:
            self.thumbnails.forget(path)
        self._changed |= set(paths)
        if not self._apply_timer.isActive():
            self._apply_timer.start()

    def _flush_changes(self) -> None:
        if self._applying or not self._changed or self._stopped:
            return  # an update in flight takes the rest along when it is done
        if self.model_state == MODEL_FAILED:
            return
        paths, self._changed = self._changed, set()
        self._applying = True
        self._applyChanges.emit(paths)

    def _on_changes_applied(self, summary: IndexSummary) -> None:
        if self._stopped:
            return
        self._applying = False
        if self._changed and not self._apply_timer.isActive():
            self._apply_timer.start()
        if summary.indexed or summary.removed or summary.moved or summary.duplicates:
            self.libraryChanged.emit()

    def _on_watch_restarted(self, root: str, mode: str) -> None:
        if self._stopped or root not in self._watch_modes:
            return
        self._watch_modes[root] = mode
        self._publish_folders()
        how = "live" if mode == "native" else "by polling"
        self.message.emit(f"The watch of {root} had stopped; watching it again {how}")

    # -- model -----------------------------------------------------------------------------

    def _on_model_loading(self) -> None:
        if self._stopped:
            return
        self.model_state = MODEL_LOADING
        self.modelStateChanged.emit(MODEL_LOADING, str(self.settings.model))

    def _on_model_ready(self, device: str) -> None:
        if self._stopped:
            return
        self.model_state = MODEL_READY
        self.model_detail = device
        self.modelStateChanged.emit(MODEL_READY, device)
        self.refresh()

    def _on_model_failed(self, message: str) -> None:
        if self._stopped:
            return
        already = self.model_state == MODEL_FAILED
        self.model_state = MODEL_FAILED
        self.model_detail = message
        self.modelStateChanged.emit(MODEL_FAILED, message)
        if not already:
            self.modelMissing.emit(message)

    def apply_settings(self, settings: Settings) -> None:
        """Save new settings; a new model, device or sound model (sound search turned on or
        off) re-embeds in the background while the current index keeps answering."""
        old = self.settings
        self.settings = settings
        settings.save(self.home)
        if settings.excluded_folders != old.excluded_folders:
            self.library.set_excluded(settings.excluded_folders)
            self.worker.library.set_excluded(settings.excluded_folders)
            self._queue_index(None)
        engine = (settings.model, settings.device, settings.backend, settings.sound_model())
        if engine != (old.model, old.device, old.backend, old.sound_model()) or (
            self.model_state == MODEL_FAILED
        ):
            self.switch_model()

    def switch_model(self) -> None:
        settings = self.settings
        self.model_state = MODEL_LOADING
        self._jobs += 1
        self._set_indexing(True)
        self._reembed.emit(lambda: self.make_library(settings))

    def _on_library_replaced(self, library: Library, summary: IndexSummary) -> None:
        if self._stopped:
            library.close()
            return
        old = self.library
        self.library = library
        self.searches.library = library
        self.searches.wait()
        if old is not library:
            old.close()
        if self._reader is not None:
            with self._reader_lock:
                self._reader.close()
                self._reader = None
        self._on_index_finished(summary)
        self.message.emit(f"Now searching with {library.encoder.spec}")

    # -- reading the catalog off the GUI thread --------------------------------------------

    def _read(self, fn: Callable[[Catalog], Any]) -> Any:
        # Readers get their own WAL connection so a long index transaction never blocks them.
        with self._reader_lock:
            if self._stopped:
                raise RuntimeError("the library is closed")
            if self._reader is None:
                self._reader = Catalog(self.library.catalog.db_path, readonly=True)
            return fn(self._reader)

    def _fetch_records(self, ids: list[int]) -> dict[int, FileRecord]:
        return dict(self._read(lambda c: c.files_by_id(ids)))


def default_library(home: Path, settings: Settings) -> Library:
    return Library(
        home,
        model=settings.model,
        device=settings.device,
        backend=settings.backend,
        cache_dir=cache_dir(home),
        excluded=settings.excluded_folders,
        audio_model=settings.sound_model(),
    )


def _thumbnail_pool(parent: QObject) -> QThreadPool:
    pool = QThreadPool(parent)
    # Leave a core for the GUI and one for the indexer's decoders.
    pool.setMaxThreadCount(max(2, (os.cpu_count() or 4) - 2))
    return pool


def _make_watcher(
    on_changes: Callable[[set[str]], None], on_restart: Callable[[str, str], None]
) -> FolderWatcher | None:
    try:
        from mediasearch.core.watcher import FolderWatcher
    except ImportError:  # watchdog missing: folders are still rescanned at start-up
        log.warning("live folder watching is unavailable (watchdog not installed)")
        return None
    return FolderWatcher(on_changes, on_restart=on_restart)
