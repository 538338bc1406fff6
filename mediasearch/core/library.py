"""A media library on disk: the catalog, model and index of one home folder, wired together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mediasearch.core.catalog import STATUS_ERROR, Catalog, FileRecord
from mediasearch.core.encoder import Encoder
from mediasearch.core.index import IndexHealth, VectorIndex
from mediasearch.core.indexer import Indexer, IndexSummary, ProgressCallback
from mediasearch.core.scanner import normalise_root
from mediasearch.core.search import Hit, Searcher, SearchFilters
from mediasearch.core.weights import DEFAULT_MODEL, ModelSpec

if TYPE_CHECKING:
    from PIL import Image

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
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(home / CATALOG_FILE)
        self.encoder = encoder or Encoder(
            ModelSpec.parse(model),
            device=device,
            backend=backend,
            cache_dir=cache_dir or home / "cache",
        )
        self.excluded = [normalise_root(e) for e in excluded]
        self._index_lock = threading.Lock()
        self._opened: tuple[int, VectorIndex] | None = None
        self.searcher = Searcher(self.catalog, self.encoder, lambda: self.open_index(False))

    def close(self) -> None:
        """Save the index if it changed and close the catalog."""
        with self._index_lock:
            if self._opened is not None and self._opened[1].dirty:
                self._opened[1].save(self.catalog.change_seq())
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_excluded(self, folders: Sequence[str]) -> None:
        """Folders that scans skip from the next index run on."""
        self.excluded = [normalise_root(f) for f in folders]

    # -- the index -------------------------------------------------------------------------

    def open_index(self, load_model: bool = False) -> tuple[int, VectorIndex] | None:
        """(model id, index) of the current model, opened (and repaired) once.

        Without `load_model`, only a model the catalog has seen can be opened, since its
        vector size is recorded there; searching an existing library needs no image tower.
        """
        with self._index_lock:
            if self._opened is not None:
                return self._opened
            identity = self.encoder.identity()
            known = self.catalog.known_model(identity)
            if known is None:
                if not load_model:
                    return None
                known = (self.catalog.model_id(identity, self.encoder.dim), self.encoder.dim)
            model_id, dim = known
            index = VectorIndex(self.home / INDEX_DIR, identity, dim)
            health = index.open(self.catalog, model_id)
            if health in (IndexHealth.REBUILT, IndexHealth.SYNCED):
                index.save(self.catalog.change_seq())
            self._opened = (model_id, index)
            return self._opened

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
        return self._indexer().apply_changes(paths, progress=progress, cancel=cancel)

    def _indexer(self) -> Indexer:
        return Indexer(self.catalog, self.encoder, self.open_index, excluded=self.excluded)

    def forget(self, root: str) -> int:
        """Drop a root and everything under it from the catalog and index; returns files dropped.

        Raises KeyError when `root` is not a watched folder.
        """
        path = normalise_root(root)
        if self.catalog.root_id(path) is None:
            raise KeyError(path)
        opened = self.open_index(False)
        ids = self.catalog.remove_root(path)
        if opened is not None:
            opened[1].remove(ids)
            opened[1].save(self.catalog.change_seq())
        return len(ids)

    def remove_files(self, ids: Sequence[int]) -> None:
        """Take files out of the catalog and index (the files on disk are untouched)."""
        opened = self.open_index(False)
        self.catalog.delete_files(ids)
        if opened is not None:
            opened[1].remove(ids)

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
            embedded_count=len(self.catalog.embedded_ids(opened[0])) if opened else 0,
        )
