"""A media library on disk: the catalog, model and index of one home folder, wired together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mediasearch.core.audio_encoder import AudioEncoder
from mediasearch.core.backup import BACKUP_DIR, CatalogRecovery, open_catalog, start_backup_if_due
from mediasearch.core.catalog import (
    STATUS_ERROR,
    Catalog,
    CatalogError,
    DiskFullError,
    FileRecord,
)
from mediasearch.core.encoder import Encoder
from mediasearch.core.index import IndexHealth, VectorIndex
from mediasearch.core.indexer import Indexer, IndexSummary, ProgressCallback
from mediasearch.core.lock import HomeLock
from mediasearch.core.scanner import normalise_root
from mediasearch.core.search import SPACE_SOUND, Hit, Searcher, SearchFilters, Space
from mediasearch.core.weights import DEFAULT_MODEL, ModelSpec

if TYPE_CHECKING:
    from PIL import Image

    from mediasearch.core.media.worker import MediaWorkerPool

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
INDEX_DIR = "index"


@dataclass(frozen=True)
class LibraryStatus:
    home: str
    roots: list[str]
    files_ok: int
    files_error: int
    files_pending: int
    model: str
    device: str
    model_loaded: bool
    index_health: str
    index_count: int
    embedded_count: int
    sound_model: str | None = None  # None: sound search is off
    sound_index_count: int = 0


class Library:
    """Everything a front end needs: index folders, search, find similar, forget, status.

    Headless and thread-safe; the CLI, the GUI and the tests all go through it.
    """

    def __init__(
        self,
        home: Path,
        *,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        backend: str = "fast",
        cache_dir: Path | None = None,
        excluded: Sequence[str] = (),
        encoder: Encoder | None = None,
        audio_model: str | None = None,
        readonly: bool = False,
    ) -> None:
        """`audio_model` (a CLAP repo id or "local-dir:PATH") turns on sound search: sound
        files and video soundtracks are then indexed in that model's space too.

        A library is open in one process at a time (LibraryLockedError otherwise). With
        `readonly`, it can be searched alongside that process: nothing is written, not
        even a repaired index, and changing calls raise LibraryReadOnlyError.
        """
        self.home = home
        self.readonly = readonly
        if not readonly:
            home.mkdir(parents=True, exist_ok=True)
        # Raises LibraryLockedError while another process has this home open.
        self._home_lock = None if readonly else HomeLock(home).acquire()
        try:
            if readonly:
                self._open_catalog_readonly()
            else:
                self._open_catalog()
            self._wire(model, device, backend, cache_dir, excluded, encoder, audio_model)
        except BaseException:
            if self._home_lock is not None:
                self._home_lock.release()
            raise

    def _open_catalog_readonly(self) -> None:
        # WAL lets this reader run beside the writer; a missing catalog raises CatalogError.
        self.catalog: Catalog = Catalog(self.home / CATALOG_FILE, readonly=True)
        self.recovery: CatalogRecovery | None = None
        self._backup: threading.Thread | None = None

    def _open_catalog(self) -> None:
        home = self.home
        catalog, recovery = open_catalog(home / CATALOG_FILE, home / BACKUP_DIR)
        self.catalog = catalog
        # Set when the catalog was damaged and restored at start: front ends show its message.
        self.recovery = recovery
        if recovery is not None:
            # The saved indexes describe the lost catalog (its file ids may now name other
            # files): rebuild them from the restored one's stored vectors.
            for manifest in (home / INDEX_DIR).glob("*.json"):
                manifest.unlink()
        # Only a catalog that passed its check at open is copied over the older backups.
        self._backup = start_backup_if_due(catalog.db_path, home / BACKUP_DIR)

    def _wire(
        self,
        model: str,
        device: str,
        backend: str,
        cache_dir: Path | None,
        excluded: Sequence[str],
        encoder: Encoder | None,
        audio_model: str | None,
    ) -> None:
        """Encoders, index slots and the searcher over the opened catalog."""
        home = self.home
        cache = cache_dir or home / "cache"
        self.encoder = encoder or Encoder(
            ModelSpec.parse(model), device=device, backend=backend, cache_dir=cache
        )
        self.audio_encoder = (
            AudioEncoder(audio_model, device=device, cache_dir=cache) if audio_model else None
        )
        self.excluded = [normalise_root(e) for e in excluded]
        self._media_workers: MediaWorkerPool | None = None  # started with the first video
        self._image_slot = _IndexSlot(
            self, lambda: self.encoder.identity(), lambda: self.encoder.dim
        )
        self._sound_slot = (
            _IndexSlot(self, self.audio_encoder.identity, lambda: self.audio_encoder.dim)  # type: ignore[union-attr]
            if self.audio_encoder is not None
            else None
        )
        sound_spaces = (
            [
                Space(
                    SPACE_SOUND,
                    lambda: self.open_sound_index(False),
                    self.audio_encoder.encode_texts,
                )
            ]
            if self.audio_encoder is not None
            else []
        )
        self.searcher = Searcher(
            self.catalog, self.encoder, lambda: self.open_index(False), other_spaces=sound_spaces
        )

    def close(self) -> None:
        """Save the indexes that changed and close the catalog."""
        try:
            if not self.readonly:
                for slot in self._slots():
                    slot.save_if_dirty()
            if self._media_workers is not None:
                self._media_workers.close()
            if self._backup is not None:
                self._backup.join()
            self.catalog.close()
        finally:
            if self._home_lock is not None:
                self._home_lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_excluded(self, folders: Sequence[str]) -> None:
        """Folders that scans skip from the next index run on."""
        self.excluded = [normalise_root(f) for f in folders]

    # -- the index -------------------------------------------------------------------------

    def open_index(self, load_model: bool = False) -> tuple[int, VectorIndex] | None:
        """(model id, index) of the image model, opened (and repaired) once.

        Without `load_model`, only a model the catalog has seen can be opened, since its
        vector size is recorded there; searching an existing library needs no image tower.
        """
        return self._image_slot.open(load_model)

    def open_sound_index(self, load_model: bool = False) -> tuple[int, VectorIndex] | None:
        """(model id, index) of the sound model; None when sound search is off."""
        return self._sound_slot.open(load_model) if self._sound_slot is not None else None

    def _check_writable(self) -> None:
        if self.readonly:
            raise LibraryReadOnlyError(
                f"The library in {self.home} is open read-only (mediasearch is running on it "
                "elsewhere); close that first to change it."
            )

    def _slots(self) -> list[_IndexSlot]:
        return [self._image_slot, *([self._sound_slot] if self._sound_slot else [])]

    # -- indexing --------------------------------------------------------------------------

    def index(
        self,
        roots: Iterable[str] | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        retry_errors: bool = False,
    ) -> IndexSummary:
        """Add `roots` (or rescan every known root) and encode whatever is new or changed;
        with `retry_errors`, also files that could not be read before."""
        self._check_writable()
        chosen = [normalise_root(r) for r in roots] if roots is not None else None
        return self._indexer().run(
            chosen, progress=progress, cancel=cancel, retry_errors=retry_errors
        )

    def apply_changes(
        self,
        paths: Iterable[str],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexSummary:
        """Update just these paths (created, changed, moved or deleted files or folders)."""
        self._check_writable()
        return self._indexer().apply_changes(paths, progress=progress, cancel=cancel)

    def _indexer(self) -> Indexer:
        return Indexer(
            self.catalog,
            self.encoder,
            self.open_index,
            excluded=self.excluded,
            audio_encoder=self.audio_encoder,
            open_sound_index=self.open_sound_index,
            media_workers=self.media_workers(),
        )

    def media_workers(self) -> MediaWorkerPool:
        """The worker processes decoding videos and sounds (each started on first use)."""
        from mediasearch.core.media.worker import MediaWorkerPool
        from mediasearch.core.media_indexer import media_worker_count

        if self._media_workers is None:
            self._media_workers = MediaWorkerPool(media_worker_count())
        return self._media_workers

    def forget(self, root: str) -> int:
        """Drop a root and everything under it from the catalog and index; returns files dropped.

        Raises KeyError when `root` is not a watched folder.
        """
        self._check_writable()
        path = normalise_root(root)
        if self.catalog.root_id(path) is None:
            raise KeyError(path)
        ids = self.catalog.remove_root(path)
        for slot in self._slots():
            opened = slot.open(False)
            if opened is not None:
                opened[1].remove_files(ids)
                opened[1].save(self.catalog.change_seq())
        return len(ids)

    def remove_files(self, ids: Sequence[int]) -> None:
        """Take files out of the catalog and index (the files on disk are untouched)."""
        self._check_writable()
        self.catalog.delete_files(ids)
        for slot in self._slots():
            opened = slot.open(False)
            if opened is not None:
                opened[1].remove_files(ids)

    # -- searching -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 20,
        *,
        filters: SearchFilters | None = None,
        images: Sequence[Image.Image] = (),
    ) -> list[Hit]:
        return self.searcher.search(query, k, filters=filters, images=images)

    def similar(self, path: str, k: int = 20, *, filters: SearchFilters | None = None) -> list[Hit]:
        return self.searcher.similar(path, k, filters=filters)

    # -- reporting -------------------------------------------------------------------------

    def errors(self) -> list[FileRecord]:
        return self.catalog.files_with_status(STATUS_ERROR)

    def status(self) -> LibraryStatus:
        counts = self.catalog.status_counts()
        opened = self.open_index(False)
        sound = self.open_sound_index(False)
        return LibraryStatus(
            home=str(self.home),
            roots=list(self.catalog.roots().values()),
            files_ok=counts.get("ok", 0),
            files_error=counts.get("error", 0),
            files_pending=counts.get("pending", 0),
            model=str(self.encoder.spec),
            device=self.encoder.device,
            model_loaded=self.encoder.loaded,
            index_health=str(opened[1].health) if opened else "none yet",
            index_count=len(opened[1]) if opened else 0,
            embedded_count=self.catalog.embedded_file_count(opened[0]) if opened else 0,
            sound_model=self.audio_encoder.spec if self.audio_encoder else None,
            sound_index_count=len(sound[1]) if sound else 0,
        )


class LibraryReadOnlyError(CatalogError):
    """A change asked of a library opened read-only."""


class _IndexSlot:
    """Opens one model's vector index on first use and keeps it."""

    def __init__(
        self, library: Library, identity: Callable[[], str], dim: Callable[[], int]
    ) -> None:
        self.library = library
        self.identity = identity
        self.dim = dim
        self._lock = threading.Lock()
        self._opened: tuple[int, VectorIndex] | None = None

    def open(self, load_model: bool) -> tuple[int, VectorIndex] | None:
        with self._lock:
            if self._opened is not None:
                return self._opened
            catalog = self.library.catalog
            identity = self.identity()
            known = catalog.known_model(identity)
            if known is None:
                if not load_model:
                    return None
                known = (catalog.model_id(identity, self.dim()), self.dim())
            model_id, dim = known
            index = VectorIndex(self.library.home / INDEX_DIR, identity, dim)
            health = index.open(catalog, model_id)
            if health in (IndexHealth.REBUILT, IndexHealth.SYNCED) and not self.library.readonly:
                self._try_save(index)
            self._opened = (model_id, index)
            return self._opened

    def save_if_dirty(self) -> None:
        with self._lock:
            if self._opened is not None and self._opened[1].dirty:
                self._try_save(self._opened[1])

    def _try_save(self, index: VectorIndex) -> None:
        # The index in memory answers searches either way; one that could not be saved (a
        # full disk) stays dirty and is rebuilt or caught up from the catalog next time.
        try:
            index.save(self.library.catalog.change_seq())
        except (OSError, DiskFullError) as error:
            log.warning("could not save the index %s: %s", index.path.name, error)
