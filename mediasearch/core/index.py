"""On-disk HNSW vector index (hnswlib): derived from the catalog, rebuilt from it when damaged."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import struct
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import hnswlib
import numpy as np
import numpy.typing as npt

from mediasearch.core.catalog import (
    FILE_ID_MASK,
    MOMENT_SHIFT,
    Catalog,
    DiskFullError,
    file_of,
    is_disk_full,
)

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
HNSW_M = 16  # graph degree: hnswlib's default, a good recall/memory balance for CLIP vectors
EF_CONSTRUCTION = 100  # higher builds slower for recall we do not need at library sizes
# Measured on 1M clustered 512-d vectors (bench.scale): ef 128 gave recall@10 0.982, ef 256
# gave 0.993 at 1.4 ms a query, still small beside the text tower.
EF_SEARCH = 256
MIN_CAPACITY = 1024
# Below this many candidate ids an exact dot product beats a filtered graph walk.
BRUTE_FORCE_LIMIT = 20_000
# Vectors whose query similarities describe "an unrelated item" for score calibration.
REFERENCE_SAMPLE = 1024


class IndexHealth(StrEnum):
    """How the index came to be in memory when it was opened."""

    LOADED = "loaded"  # the saved file matched the catalog exactly
    SYNCED = "synced"  # the saved file was valid but behind the catalog; caught up
    REBUILT = "rebuilt"  # the saved file was missing, damaged or inconsistent; rebuilt
    EMPTY = "empty"  # nothing to index yet


@dataclass
class Manifest:
    """What the index file beside it must be; checked before hnswlib ever reads that file."""

    model: str
    dim: int
    count: int
    capacity: int
    change_seq: int
    sha256: str
    deleted: list[int] = field(default_factory=list)
    version: int = MANIFEST_VERSION


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`."""
    os.replace(_write_synced_temp(path, data), path)
    _fsync_dir(path.parent)


def _write_synced_temp(path: Path, data: bytes) -> Path:
    """`data` in a temporary file beside `path`, on disk; removed again if writing fails."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


# hnswlib's file layout (hnswalg.h saveIndex): a header of six size_t, two 32-bit ints
# (max level, entry point), three size_t (maxM, maxM0, M), a double (mult) and a size_t
# (ef_construction); the level-0 block; then for each element a 32-bit byte count of its
# upper-level links followed by those links.
_HNSW_HEADER = struct.Struct("<QQQQQQiiQQQdQ")
_LINK_COUNT = struct.Struct("<I")


def hnsw_file_problem(path: Path, dim: int) -> str | None:
    """What makes `path` not a whole hnswlib index of `dim`-d vectors, None if nothing.

    Checks the sizes the file declares against its length, as hnswlib's loader does, so a
    truncated or mangled file is refused here rather than read out of bounds there.
    """
    with path.open("rb") as f:
        length = os.fstat(f.fileno()).st_size
        if length < _HNSW_HEADER.size:
            return f"{length} bytes, shorter than the header"
        header = _HNSW_HEADER.unpack(f.read(_HNSW_HEADER.size))
        count, per_element, label_offset, data_offset = header[2:6]
        links_size = header[8] * 4 + 4  # size_links_per_element_ from maxM
        if (
            header[1] < count
            or data_offset + dim * 4 > label_offset
            or (label_offset + 8 > per_element)
        ):
            return "inconsistent header"
        start = _HNSW_HEADER.size + count * per_element
        if start + count * _LINK_COUNT.size > length:
            return f"{length} bytes, too short for its {count} vectors"
        # Only the upper-level links are read: a few bytes per element, not the vectors.
        f.seek(start)
        links = f.read()
    position = 0
    for _ in range(count):
        if position + _LINK_COUNT.size > len(links):
            return f"{length} bytes, ending inside the links"
        (size,) = _LINK_COUNT.unpack_from(links, position)
        if size % links_size:
            return f"a link block of {size} bytes"
        position += _LINK_COUNT.size + size
    if position != len(links):
        return f"{length} bytes where the layout needs {start + position}"
    return None


class VectorIndex:
    """Approximate nearest-neighbour search over normalised embeddings.

    Labels are catalog labels (`catalog.label_of`): a photo's is its file id, the moments of
    a video or sound carry their number above the file id. Removal and filters take file ids.

    All methods are thread-safe: the indexer adds while the UI searches.
    """

    def __init__(self, directory: Path, model_identity: str, dim: int) -> None:
        self.model_identity = model_identity
        self.dim = dim
        slug = hashlib.sha1(model_identity.encode()).hexdigest()[:16]
        self.path = directory / f"{slug}.hnsw"
        self.manifest_path = directory / f"{slug}.json"
        self._lock = threading.RLock()
        self._hnsw = self._new_hnsw(MIN_CAPACITY)
        self._live: set[int] = set()
        self._deleted: set[int] = set()
        # Labels of moments past the first, by file: only videos and sounds have any, so
        # photo libraries pay nothing for it.
        self._later_moments: dict[int, set[int]] = {}
        self._reference: npt.NDArray[np.float32] | None = None
        self._change_seq = 0
        self._dirty = False
        self._saved_at = time.monotonic()  # loaded or saved: the file matches memory then
        self._save_lock = threading.Lock()  # one writer of the temp file at a time
        self.health = IndexHealth.EMPTY

    # -- opening ---------------------------------------------------------------------------

    def open(self, catalog: Catalog, model_id: int) -> IndexHealth:
        """Load the saved index if it is intact, bring it up to date with the catalog, and
        rebuild it from the stored embeddings (never re-encoding) when anything is off."""
        with self._lock:
            manifest = self._read_valid_manifest()
            if manifest is not None and manifest.change_seq > catalog.change_seq():
                # Saved after changes the catalog no longer has (a restored backup, an OS
                # crash losing its last transactions): its labels may name other files now.
                log.warning("index %s is ahead of the catalog; rebuilding", self.path.name)
            elif manifest is not None and self._load(manifest):
                if manifest.change_seq == catalog.change_seq():
                    self.health = IndexHealth.LOADED
                else:
                    self._catch_up(catalog, model_id, manifest.change_seq)
                    self.health = IndexHealth.SYNCED
                if set(catalog.embedded_labels(model_id).tolist()) == self._live:
                    return self.health
                log.warning("index %s disagrees with the catalog; rebuilding", self.path.name)
            self.rebuild(catalog, model_id)
            return self.health

    def _read_valid_manifest(self) -> Manifest | None:
        try:
            raw = json.loads(self.manifest_path.read_text())
            manifest = Manifest(**raw)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as error:
            log.warning("index manifest unreadable (%s); rebuilding", error)
            return None
        problems = []
        if manifest.version != MANIFEST_VERSION:
            problems.append(f"manifest version {manifest.version}")
        if manifest.model != self.model_identity or manifest.dim != self.dim:
            problems.append(f"made for {manifest.model} ({manifest.dim}-d)")
        try:
            if _sha256_of(self.path) != manifest.sha256:
                problems.append("file checksum differs from its manifest")
        except OSError as error:
            problems.append(f"file unreadable: {error}")
        if not problems:
            try:
                structure = hnsw_file_problem(self.path, self.dim)
            except OSError as error:
                structure = str(error)
            if structure is not None:
                problems.append(f"not a whole index: {structure}")
        if problems:
            log.warning("index file %s rejected: %s", self.path, "; ".join(problems))
            return None
        return manifest

    def _load(self, manifest: Manifest) -> bool:
        hnsw = hnswlib.Index(space="ip", dim=self.dim)
        try:
            hnsw.load_index(
                str(self.path), max_elements=manifest.capacity, allow_replace_deleted=True
            )
        except (RuntimeError, ValueError, MemoryError) as error:
            log.warning("index file %s failed to load (%s)", self.path, error)
            return False
        self._hnsw = hnsw
        self._deleted = set(manifest.deleted)
        self._live = set(hnsw.get_ids_list()) - self._deleted
        self._index_moments(self._live, fresh=True)
        self._change_seq = manifest.change_seq
        self._dirty = False
        self._saved_at = time.monotonic()  # loaded or saved: the file matches memory then
        return True

    def _catch_up(self, catalog: Catalog, model_id: int, since_seq: int) -> None:
        ids, vectors = catalog.embeddings(model_id, since_seq=since_seq)
        self.add(ids.tolist(), vectors)
        stale = self._live - set(catalog.embedded_labels(model_id).tolist())
        self.remove(stale)
        self._change_seq = catalog.change_seq()

    def rebuild(self, catalog: Catalog, model_id: int) -> None:
        """Build a fresh graph from every vector the catalog holds for this model."""
        with self._lock:
            self._change_seq = catalog.change_seq()
            ids, vectors = catalog.embeddings(model_id)
            self._hnsw = self._new_hnsw(max(MIN_CAPACITY, int(len(ids) * 1.25)))
            self._live, self._deleted = set(), set()
            if len(ids):
                self._hnsw.add_items(vectors, ids, num_threads=-1)
                self._live = set(ids.tolist())
            self._index_moments(self._live, fresh=True)
            self._dirty = True
            self.health = IndexHealth.REBUILT if len(ids) else IndexHealth.EMPTY

    def _new_hnsw(self, capacity: int) -> hnswlib.Index:
        hnsw = hnswlib.Index(space="ip", dim=self.dim)
        hnsw.init_index(
            max_elements=capacity,
            M=HNSW_M,
            ef_construction=EF_CONSTRUCTION,
            allow_replace_deleted=True,
        )
        return hnsw

    # -- changes ---------------------------------------------------------------------------

    def add(self, ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Insert or replace vectors; new labels reuse the slots of deleted ones."""
        if not ids:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            known = [
                i for i, label in enumerate(ids) if label in self._live or label in self._deleted
            ]
            known_set = set(known)
            fresh = [i for i in range(len(ids)) if i not in known_set]
            for i in known:
                # hnswlib refuses to update a deleted label in place: bring it back first.
                if ids[i] in self._deleted:
                    self._hnsw.unmark_deleted(ids[i])
                    self._deleted.discard(ids[i])
            if known:
                self._hnsw.add_items(vectors[known], [ids[i] for i in known])
            if fresh:
                self._add_fresh([ids[i] for i in fresh], vectors[fresh])
            self._live.update(ids)
            self._index_moments(ids)
            self._dirty = True

    def _index_moments(self, labels: Iterable[int], *, fresh: bool = False) -> None:
        if fresh:
            self._later_moments = {}
            self._reference = None
        for label in labels:
            if label >> MOMENT_SHIFT:
                self._later_moments.setdefault(file_of(label), set()).add(label)

    def _add_fresh(self, ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
        # Deleted slots are reused first; grow geometrically only for what they cannot hold.
        slots_needed = self._hnsw.get_current_count() + max(0, len(ids) - len(self._deleted))
        if slots_needed > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(self._hnsw.get_max_elements() * 2, slots_needed))
        self._hnsw.add_items(vectors, ids, replace_deleted=True)
        if self._deleted:
            # The labels of reused slots are gone from hnswlib for good.
            self._deleted &= set(self._hnsw.get_ids_list())

    def remove(self, labels: Iterable[int]) -> None:
        """Take these labels out (searches stop returning them at once)."""
        with self._lock:
            for label in labels:
                if label in self._live:
                    self._hnsw.mark_deleted(label)
                    self._live.discard(label)
                    self._deleted.add(label)
                    self._dirty = True
                    later = self._later_moments.get(file_of(label))
                    if later is not None:
                        later.discard(label)
                        if not later:
                            del self._later_moments[file_of(label)]

    def remove_files(self, file_ids: Iterable[int]) -> None:
        """Take out every moment of these files."""
        with self._lock:
            for file_id in list(file_ids):
                self.remove([file_id, *self._later_moments.get(file_id, ())])

    def labels_of(self, file_ids: Iterable[int]) -> list[int]:
        """The live labels of these files' moments."""
        with self._lock:
            labels = []
            for file_id in file_ids:
                if file_id in self._live:
                    labels.append(file_id)
                labels.extend(self._later_moments.get(file_id, ()))
            return labels

    @property
    def has_moments(self) -> bool:
        """Whether some file holds more than one vector (so hits need grouping by file)."""
        return bool(self._later_moments)

    # -- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, label: object) -> bool:
        return label in self._live

    def vectors(self, ids: list[int]) -> npt.NDArray[np.float32]:
        with self._lock:
            return np.asarray(self._hnsw.get_items(ids), dtype=np.float32).reshape(-1, self.dim)

    def query(
        self,
        vector: npt.NDArray[np.float32],
        k: int,
        allowed: Collection[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The k nearest live labels to `vector` (optionally only moments of the files in
        `allowed`), best first, with cosine similarity scores."""
        query = np.asarray(vector, dtype=np.float32).reshape(1, self.dim)
        with self._lock:
            if allowed is not None:
                candidates = self.labels_of(allowed)
                if len(candidates) <= BRUTE_FORCE_LIMIT:
                    return self._exact(query[0], candidates, k)
            k = min(k, len(self._live))
            if k <= 0:
                return []
            self._hnsw.set_ef(max(EF_SEARCH, k))
            allowed_set = set(allowed) if allowed is not None else None
            accept = (
                (lambda label: (label & FILE_ID_MASK) in allowed_set)
                if allowed_set is not None
                else None
            )
            while k > 0:
                try:
                    labels, distances = self._hnsw.knn_query(query, k=k, filter=accept)
                    break
                except RuntimeError:  # fewer than k reachable under the filter
                    k //= 2
            else:
                return []
        # hnswlib's inner-product "distance" is 1 - dot.
        return [
            (int(label), float(1.0 - d)) for label, d in zip(labels[0], distances[0], strict=True)
        ]

    def _exact(
        self, query: npt.NDArray[np.float32], candidates: list[int], k: int
    ) -> list[tuple[int, float]]:
        if not candidates or k <= 0:
            return []
        scores = self.vectors(candidates) @ query
        top = np.argsort(-scores)[:k]
        return [(candidates[i], float(scores[i])) for i in top]

    def reference_scores(self, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Similarities of `vector` to a fixed random sample of the index: what scores of
        unrelated items look like for this query, used to calibrate scores across spaces."""
        with self._lock:
            if self._reference is None or len(self._reference) < min(
                REFERENCE_SAMPLE, len(self._live) // 2
            ):
                # Resampled as the index grows (until it holds the full sample size).
                live = sorted(self._live)
                if not live:
                    return np.zeros(0, np.float32)
                rng = np.random.default_rng(0)
                chosen = rng.choice(len(live), min(REFERENCE_SAMPLE, len(live)), replace=False)
                self._reference = self.vectors([live[i] for i in chosen])
            reference = self._reference
        scores: npt.NDArray[np.float32] = reference @ np.asarray(vector, np.float32)
        return scores

    # -- saving ----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def seconds_since_save(self) -> float:
        return time.monotonic() - self._saved_at

    def save(self, change_seq: int | None = None) -> None:
        """Persist atomically: index to a temp file, fsync, rename; then its manifest.

        Only the snapshot to the temp file holds the search lock; fsync and checksum (which
        grow with the index) run while queries go on.
        """
        with self._save_lock:
            with self._lock:
                if change_seq is not None:
                    self._change_seq = change_seq
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                self._hnsw.save_index(str(tmp))
                snapshot = Manifest(
                    model=self.model_identity,
                    dim=self.dim,
                    count=len(self._live),
                    capacity=self._hnsw.get_max_elements(),
                    change_seq=self._change_seq,
                    sha256="",
                    deleted=sorted(self._deleted),
                )
                self._dirty = False
                self._saved_at = time.monotonic()
            try:
                with tmp.open("rb+") as f:
                    os.fsync(f.fileno())
                # hnswlib never reports a failed write: a full disk leaves a short file.
                problem = hnsw_file_problem(tmp, self.dim)
                if problem is not None:
                    raise OSError(errno.ENOSPC, f"index written incompletely ({problem})")
                manifest = Manifest(**{**asdict(snapshot), "sha256": _sha256_of(tmp)})
                # The manifest is written before the index is replaced, so a failure leaves
                # the previous pair in place; a kill between the two renames leaves a
                # checksum mismatch, which opening detects.
                manifest_tmp = _write_synced_temp(
                    self.manifest_path, json.dumps(asdict(manifest)).encode()
                )
                os.replace(tmp, self.path)
                os.replace(manifest_tmp, self.manifest_path)
                _fsync_dir(self.path.parent)
            except BaseException as error:
                self._dirty = True  # not on disk after all: try again next time
                tmp.unlink(missing_ok=True)  # a full disk gets its space back
                if is_disk_full(error):
                    raise DiskFullError(self.path.parent, str(error)) from error
                raise
        self._saved_at = time.monotonic()  # loaded or saved: the file matches memory then
