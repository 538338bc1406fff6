"""Bring the catalog and index up to date with the disk: scan, diff, decode, encode, commit."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mediasearch.core.catalog import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_PENDING,
    Catalog,
    EncodedFile,
    FileRecord,
    NewFile,
)
from mediasearch.core.fingerprint import content_hash
from mediasearch.core.media.errors import MediaError
from mediasearch.core.media.images import ImageInfo, decode_image
from mediasearch.core.media.kinds import KIND_AUDIO, KIND_IMAGE, KIND_VIDEO
from mediasearch.core.scanner import (
    ScannedFile,
    is_excluded,
    is_hidden_below,
    normalise_root,
    root_containing,
    scan_file,
    scan_root,
)
from mediasearch.core.weights import ModelUnavailableError

if TYPE_CHECKING:
    import torch

    from mediasearch.core.audio_encoder import AudioEncoder
    from mediasearch.core.encoder import Encoder
    from mediasearch.core.index import VectorIndex
    from mediasearch.core.media.worker import MediaWorkerPool

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # images per forward pass on the CPU; large enough to amortise overhead
GPU_BATCH_SIZE = 128
# Batches decoded ahead of the model: enough to hide decode jitter, few enough that the
# pending tensors (batch x 3 x 224 x 224 floats, ~19 MB per CPU batch) stay small.
LOOKAHEAD_BATCHES = 3
INDEX_SAVE_INTERVAL_S = 60.0  # a crash costs at most a catch-up from the catalog anyway

PHASE_SCANNING = "scanning"
PHASE_ENCODING = "encoding"


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running index job, for progress bars."""

    phase: str
    done: int
    total: int
    rate: float = 0.0  # files per second
    eta_s: float | None = None
    current: str = ""


ProgressCallback = Callable[[Progress], None]
# Opens the vector index of the current model: with True, loading the model if need be to
# learn its dimension; with False, only if the model was seen before (else None).
IndexOpener = Callable[[bool], "tuple[int, VectorIndex] | None"]


@dataclass
class IndexSummary:
    """What one index run did."""

    indexed: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    duplicates: int = 0  # byte-identical copies that reused an embedding
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Things the user should know that are not about one file (a model that is missing).
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0


@dataclass
class _Diff:
    new: list[ScannedFile] = field(default_factory=list)
    changed: list[tuple[FileRecord, ScannedFile]] = field(default_factory=list)
    vanished: list[FileRecord] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class _Decoded:
    record: FileRecord
    pixels: torch.Tensor | None = None
    info: ImageInfo | None = None
    error: str | None = None


class Indexer:
    """Runs index jobs against one catalog; the caller owns threads and cancellation."""

    def __init__(
        self,
        catalog: Catalog,
        encoder: Encoder,
        open_index: IndexOpener,
        *,
        excluded: Sequence[str] = (),
        decode_workers: int | None = None,
        audio_encoder: AudioEncoder | None = None,
        open_sound_index: IndexOpener | None = None,
        media_workers: MediaWorkerPool | None = None,
    ) -> None:
        """Sound files are indexed only with an `audio_encoder` (and `open_sound_index`);
        videos and sounds are decoded by `media_workers` (a pool made per run if None)."""
        self.catalog = catalog
        self.encoder = encoder
        self.open_index = open_index
        self.excluded = list(excluded)
        self.decode_workers = decode_workers  # None: chosen per run, see _decode_workers
        self.audio_encoder = audio_encoder
        self.open_sound_index = open_sound_index if audio_encoder is not None else None
        self.media_workers = media_workers
        self.kinds = frozenset(
            {KIND_IMAGE, KIND_VIDEO} | ({KIND_AUDIO} if audio_encoder else set())
        )

    def _decode_workers(self, *, live: bool = False) -> int:
        if self.decode_workers:
            return self.decode_workers
        cores = os.cpu_count() or 2
        if self.encoder.device.startswith("cuda"):
            workers = min(16, cores)  # the GPU waits on JPEG decoding: give it every core
        else:
            workers = min(8, max(2, cores))  # the model needs the same cores; decoding overlaps
        # Watched changes arrive while someone uses the app: half the decoders leave the GUI
        # its share of the interpreter. With 2 000 files dropped on two cores the longest GUI
        # stall fell from 235 to 94 ms (tests/faults/test_flood.py); a big drop indexes
        # somewhat slower, a few files no slower.
        return max(1, workers // 2) if live else workers

    def run(
        self,
        roots: Iterable[str] | None = None,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        retry_errors: bool = False,
    ) -> IndexSummary:
        """Index the given roots (registering new ones), or every known root by default.

        Files that failed before are tried again only when they change, or with
        `retry_errors` (say, after fixing their permissions).
        """
        started = time.monotonic()
        cancel = cancel or threading.Event()
        summary = IndexSummary()
        root_ids = (
            [self.catalog.add_root(r) for r in roots]
            if roots is not None
            else list(self.catalog.roots())
        )
        all_roots = self.catalog.roots()
        known: dict[str, FileRecord] = {}
        scanned: dict[str, ScannedFile] = {}
        root_of: dict[str, int] = {}
        unreadable: dict[str, OSError] = {}
        for root_id in root_ids:
            root = all_roots[root_id]
            if not os.path.isdir(root):
                # An unplugged drive must not wipe its catalog: keep everything, report it.
                summary.skipped.append((root, "folder not found (unplugged drive?); kept as is"))
                continue
            found = scan_root(
                root,
                excluded=self.excluded,
                cancel=cancel,
                on_progress=_scan_reporter(progress, root),
                kinds=self.kinds,
                on_unreadable=unreadable.__setitem__,
            )
            known.update(self.catalog.files_in_root(root_id))
            scanned.update(found)
            root_of.update(dict.fromkeys(found, root_id))
        _keep_unreadable(known, scanned, unreadable, summary)
        # Diffing all roots together lets a file moved from one root to another keep its vector.
        if retry_errors:
            # A failed file holds no vector, so forgetting its row costs nothing; the scan
            # then finds it as new and reads it afresh.
            failed = [r for r in known.values() if r.status == STATUS_ERROR and r.path in scanned]
            self.catalog.delete_files(r.id for r in failed)
            for record in failed:
                del known[record.path]
        return self._update(
            known, scanned, root_of, summary, started, progress, cancel, full_run=True
        )

    def apply_changes(
        self,
        paths: Iterable[str],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexSummary:
        """Update only the given paths (files or folders: created, changed, moved or deleted).

        Live watching reports a move as its old and new path; seeing both in one call is
        what lets the moved file keep its id and embedding.
        """
        started = time.monotonic()
        cancel = cancel or threading.Event()
        roots = self.catalog.roots()
        known: dict[str, FileRecord] = {}
        scanned: dict[str, ScannedFile] = {}
        root_of: dict[str, int] = {}
        unreadable: dict[str, OSError] = {}
        for path in {normalise_root(p) for p in paths}:
            root_id = root_containing(path, roots)
            if root_id is None or is_excluded(path, self.excluded):
                continue
            if is_hidden_below(path, roots[root_id]):
                continue
            known.update(self.catalog.files_under(path))
            found = (
                scan_root(
                    path,
                    excluded=self.excluded,
                    cancel=cancel,
                    kinds=self.kinds,
                    on_unreadable=unreadable.__setitem__,
                )
                if os.path.isdir(path)
                else scan_file(path, self.kinds, on_unreadable=unreadable.__setitem__)
            )
            scanned.update(found)
            root_of.update(dict.fromkeys(found, root_id))
        summary = IndexSummary()
        _keep_unreadable(known, scanned, unreadable, summary)
        return self._update(
            known, scanned, root_of, summary, started, progress, cancel, full_run=False
        )

    def _update(
        self,
        known: dict[str, FileRecord],
        scanned: dict[str, ScannedFile],
        root_of: dict[str, int],
        summary: IndexSummary,
        started: float,
        progress: ProgressCallback | None,
        cancel: threading.Event,
        *,
        full_run: bool,
    ) -> IndexSummary:
        """Apply a diff and encode what it left pending. A full run also picks up files
        lacking this model's vector and saves the index at the end; a run for a few
        watched changes does neither (both cost time that grows with the library, and the
        catalog already holds the new vectors: an unsaved index catches up from it)."""
        if not cancel.is_set():
            diff = self._diff(known, scanned)
            summary.unchanged += diff.unchanged
            self._apply(diff, root_of, summary)
        if not cancel.is_set():
            self._encode_pending(
                summary, progress, cancel, find_missing=full_run, live=not full_run
            )
        summary.cancelled = cancel.is_set()
        for opened in self._opened_indexes():
            due = full_run or opened[1].seconds_since_save > INDEX_SAVE_INTERVAL_S
            if opened[1].dirty and due:
                opened[1].save(self.catalog.change_seq())
        summary.elapsed_s = time.monotonic() - started
        return summary

    # -- scan and diff ---------------------------------------------------------------------

    @staticmethod
    def _diff(known: dict[str, FileRecord], scanned: dict[str, ScannedFile]) -> _Diff:
        diff = _Diff()
        for path, found in scanned.items():
            record = known.get(path)
            if record is None:
                diff.new.append(found)
            elif record.size != found.size or record.mtime_ns != found.mtime_ns:
                diff.changed.append((record, found))
            else:
                diff.unchanged += 1
        diff.vanished = [record for path, record in known.items() if path not in scanned]
        return diff

    def _apply(self, diff: _Diff, root_of: dict[str, int], summary: IndexSummary) -> None:
        vanished_by_hash: dict[tuple[str | None, int], list[FileRecord]] = {}
        for record in diff.vanished:
            vanished_by_hash.setdefault((record.content_hash, record.size), []).append(record)

        fresh: list[NewFile] = []
        unreadable: list[tuple[NewFile, str]] = []
        for found in diff.new:
            digest, problem = _fingerprint(found.path)
            if digest is None:
                if not _vanished(found.path):  # gone again already: nothing to record
                    unreadable.append((_new_file(found, root_of, None), problem))
                continue
            twins = vanished_by_hash.get((digest, found.size))
            if twins:
                # Same bytes under a new name: a move or rename keeps id and embedding.
                twin = _likeliest_origin(twins, found.path)
                twins.remove(twin)
                self.catalog.move_file(twin.id, found.path, root_of[found.path], found.mtime_ns)
                summary.moved += 1
            else:
                fresh.append(_new_file(found, root_of, digest))
        for record, found in diff.changed:
            self._apply_change(record, found, summary)

        gone = [r.id for twins in vanished_by_hash.values() for r in twins]
        if gone:
            self.catalog.delete_files(gone)
            self._drop_from_index(gone)
            summary.removed += len(gone)
        for file_id, new in zip(self.catalog.insert_files(fresh), fresh, strict=True):
            self._reuse_twin_embedding(file_id, new, summary)
        files = [new for new, _ in unreadable]
        for file_id, (new, reason) in zip(
            self.catalog.insert_files(files), unreadable, strict=True
        ):
            self.catalog.mark_error(file_id, reason)
            summary.skipped.append((new.path, reason))

    def _apply_change(self, record: FileRecord, found: ScannedFile, summary: IndexSummary) -> None:
        digest, problem = _fingerprint(found.path)
        if digest is None:
            self._drop_from_index([record.id])
            if _vanished(found.path):  # deleted since the scan: its own event follows
                self.catalog.delete_files([record.id])
                summary.removed += 1
                return
            self.catalog.mark_error(record.id, problem)
            summary.skipped.append((found.path, problem))
            return
        if digest == record.content_hash and found.size == record.size:
            self.catalog.touch_file(record.id, found.mtime_ns)  # touched, not edited
            summary.unchanged += 1
            return
        self.catalog.mark_changed(record.id, found.size, found.mtime_ns, digest)
        self._drop_from_index([record.id])

    def _opened_indexes(self) -> list[tuple[int, VectorIndex]]:
        """The indexes of every space already opened (none is created here)."""
        opened = [self.open_index(False)]
        if self.open_sound_index is not None:
            opened.append(self.open_sound_index(False))
        return [o for o in opened if o is not None]

    def _drop_from_index(self, ids: list[int]) -> None:
        for opened in self._opened_indexes():
            opened[1].remove_files(ids)

    def _reuse_twin_embedding(self, file_id: int, new: NewFile, summary: IndexSummary) -> None:
        if new.content_hash is None:
            return
        for twin in self.catalog.files_with_hash(new.content_hash):
            if twin.id != file_id and twin.status == STATUS_OK and twin.size == new.size:
                if self.catalog.copy_embeddings(twin.id, file_id):
                    for model_id, index in self._opened_indexes():
                        labels, vectors = self.catalog.file_moments(file_id, model_id)
                        index.add(labels.tolist(), vectors)
                    summary.duplicates += 1
                return

    # -- decode and encode -----------------------------------------------------------------

    def _encode_pending(
        self,
        summary: IndexSummary,
        progress: ProgressCallback | None,
        cancel: threading.Event,
        *,
        find_missing: bool,
        live: bool,
    ) -> None:
        if find_missing:
            self._mark_missing_pending(summary)
        pending = self.catalog.files_with_status(STATUS_PENDING)
        if not pending:
            return
        meter = _RateMeter(len(pending))
        media = [r for r in pending if r.kind in (KIND_VIDEO, KIND_AUDIO)]
        images = [r for r in pending if r.kind not in (KIND_VIDEO, KIND_AUDIO)]
        if images:
            self._encode_images(images, meter, summary, progress, cancel, live=live)
        if media and not cancel.is_set():
            # Imported here: videos need PyAV and worker processes, which a run over photos
            # alone never starts.
            from mediasearch.core.media_indexer import MediaEncoder

            MediaEncoder(self, meter.advance_reporting(progress)).run(media, summary, cancel)

    def _mark_missing_pending(self, summary: IndexSummary) -> None:
        """Files that are fine but lack a vector from a model in use (after a model switch),
        and files whose decoder crashed once (they get a second try).

        A model the catalog has never seen is registered first (loading it, as encoding the
        files will anyway): unregistered, its files all looked done and its index stayed
        empty.
        """
        self.catalog.mark_pending(self.catalog.ids_to_retry_after_crash())
        pictures = (KIND_IMAGE, KIND_VIDEO)
        opened = self.open_index(False)
        if opened is None and self.catalog.count_files(STATUS_OK, pictures):
            opened = self.open_index(True)
        if opened is not None:
            self.catalog.mark_pending(self.catalog.ids_missing_embedding(opened[0], pictures))
        if self.open_sound_index is None:
            return
        sound = self.open_sound_index(False)
        if sound is None and self.catalog.count_files(STATUS_OK, (KIND_AUDIO,)):
            sound = self.open_sound(summary)
        if sound is not None:
            self.catalog.mark_pending(self.catalog.ids_missing_embedding(sound[0], (KIND_AUDIO,)))

    def open_sound(self, summary: IndexSummary) -> tuple[int, VectorIndex] | None:
        """The sound model's index, loading the model; None (with a warning in `summary`)
        when it is unavailable, so that photos and videos still get indexed."""
        if self.open_sound_index is None:
            return None
        try:
            return self.open_sound_index(True)
        except ModelUnavailableError as error:
            log.warning("sound model unavailable, sounds wait for it: %s", error)
            warning = f"Sounds are waiting for their model. {error}"
            if warning not in summary.warnings:
                summary.warnings.append(warning)
            return None

    def _encode_images(
        self,
        pending: list[FileRecord],
        meter: _RateMeter,
        summary: IndexSummary,
        progress: ProgressCallback | None,
        cancel: threading.Event,
        *,
        live: bool,
    ) -> None:
        model_id, index = self.open_index(True) or (0, None)
        assert index is not None
        batch_size = self.batch_size
        min_side = self.encoder.image_size
        workers = self._decode_workers(live=live)
        with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
            in_flight: deque[Future[_Decoded]] = deque()
            queue = iter(pending)
            window = batch_size * (LOOKAHEAD_BATCHES + 1)
            for record in queue:
                in_flight.append(pool.submit(self._decode, record, min_side))
                if len(in_flight) >= window:
                    break
            while in_flight and not cancel.is_set():
                batch = [
                    in_flight.popleft().result() for _ in range(min(batch_size, len(in_flight)))
                ]
                for record in queue:
                    in_flight.append(pool.submit(self._decode, record, min_side))
                    if len(in_flight) >= window:
                        break
                self._commit_batch(model_id, index, batch, summary)
                meter.advance(len(batch))
                if progress is not None:
                    # Time spent in the callback (a paused app waits there) is not work time.
                    waited_from = time.monotonic()
                    progress(meter.snapshot(batch[-1].record.path))
                    meter.exclude(time.monotonic() - waited_from)
                if index.dirty and meter.since_save() > INDEX_SAVE_INTERVAL_S:
                    index.save(self.catalog.change_seq())
                    meter.saved()
            for future in in_flight:
                future.cancel()

    @property
    def batch_size(self) -> int:
        return GPU_BATCH_SIZE if self.encoder.device.startswith("cuda") else BATCH_SIZE

    def _decode(self, record: FileRecord, min_side: int) -> _Decoded:
        try:
            decoded = decode_image(record.path, min_side=min_side)
            return _Decoded(record, self.encoder.prepare(decoded.image), decoded.info)
        except MediaError as error:
            return _Decoded(record, error=str(error))
        except Exception as error:  # a decoder bug must cost one file, never the whole run
            log.exception("unexpected failure decoding %s", record.path)
            return _Decoded(record, error=f"could not decode: {type(error).__name__}: {error}")

    def _commit_batch(
        self, model_id: int, index: VectorIndex, batch: list[_Decoded], summary: IndexSummary
    ) -> None:
        good = [d for d in batch if d.pixels is not None]
        # A file deleted between the scan and its decoding is simply gone, not a failure.
        gone = [d for d in batch if d.pixels is None and _vanished(d.record.path)]
        if gone:
            self.catalog.delete_files(d.record.id for d in gone)
            summary.removed += len(gone)
            batch = [d for d in batch if d not in gone]
        failed = [(d.record.id, d.error or "unknown error") for d in batch if d.pixels is None]
        vectors = self.encoder.encode_prepared([d.pixels for d in good if d.pixels is not None])
        embedded = [
            EncodedFile.photo(
                d.record.id,
                model_id,
                vector,
                d.info.width if d.info else None,
                d.info.height if d.info else None,
                d.info.captured_at if d.info else None,
            )
            for d, vector in zip(good, vectors, strict=True)
        ]
        self.catalog.store_results(embedded, failed)
        index.add([d.record.id for d in good], vectors)
        summary.indexed += len(good)
        summary.skipped += [(d.record.path, d.error or "") for d in batch if d.pixels is None]


def _scan_reporter(progress: ProgressCallback | None, root: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    callback = progress
    return lambda count: callback(Progress(PHASE_SCANNING, count, 0, current=root))


class _RateMeter:
    """Files per second and time left, smoothed over the whole run."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.last_save = self.started

    def advance(self, count: int) -> None:
        self.done += count

    def advance_reporting(self, progress: ProgressCallback | None) -> Callable[[str], None]:
        """A callback counting one more file done and reporting progress."""

        def advance_one(current: str) -> None:
            self.advance(1)
            if progress is not None:
                waited_from = time.monotonic()
                progress(self.snapshot(current))
                self.exclude(time.monotonic() - waited_from)

        return advance_one

    def snapshot(self, current: str) -> Progress:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else None
        return Progress(PHASE_ENCODING, self.done, self.total, rate, eta, current)

    def exclude(self, seconds: float) -> None:
        self.started += seconds

    def since_save(self) -> float:
        return time.monotonic() - self.last_save

    def saved(self) -> None:
        self.last_save = time.monotonic()


def _new_file(found: ScannedFile, root_of: dict[str, int], digest: str | None) -> NewFile:
    return NewFile(found.path, root_of[found.path], found.kind, found.size, found.mtime_ns, digest)


def _keep_unreadable(
    known: dict[str, FileRecord],
    scanned: dict[str, ScannedFile],
    unreadable: dict[str, OSError],
    summary: IndexSummary,
) -> None:
    """Take the files below folders the scan could not read out of `known`, so the diff
    keeps them as they are rather than deleting them (a folder whose permissions changed,
    a flaky network share); report each such folder once."""
    if not unreadable:
        return
    prefixes = tuple(path.rstrip(os.sep) + os.sep for path in unreadable)
    for path in [p for p in known if p not in scanned]:
        if path in unreadable or path.startswith(prefixes):
            del known[path]
    for path, error in sorted(unreadable.items()):
        why = "permission denied" if isinstance(error, PermissionError) else error.strerror
        summary.skipped.append(
            (path, f"cannot be read ({why or error}); what was indexed there is kept as it was")
        )


def _likeliest_origin(twins: list[FileRecord], path: str) -> FileRecord:
    """Which of several vanished byte-identical files moved to `path`: one with the same
    name, so that copies moved together each keep their own row (and id)."""
    name = os.path.basename(path)
    return next((t for t in twins if os.path.basename(t.path) == name), twins[-1])


def _vanished(path: str) -> bool:
    """Whether the file is no longer there (deleted or moved away since it was listed)."""
    return not os.path.lexists(path)


def _fingerprint(path: str) -> tuple[str | None, str]:
    """(content hash, "") or (None, why the file cannot be read)."""
    try:
        return content_hash(path), ""
    except OSError as error:
        return None, _os_reason(error)


def _os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "file disappeared before it could be read"
    if isinstance(error, PermissionError):
        return "permission denied"
    return f"cannot read file: {error.strerror or error}"


__all__ = ["STATUS_ERROR", "IndexSummary", "Indexer", "Progress", "ProgressCallback"]
