"""SQLite catalog of watched roots, media files, their status and their embeddings per model."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SCHEMA_VERSION = 3
BUSY_TIMEOUT_S = 30.0  # a reader waits this long for the writer's transaction to finish

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_PENDING = "pending"

FloatMatrix = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]

# A file may hold several vectors per model (a video's frames, a sound's windows): its
# "moments", numbered from 0. The vector index labels each one with the file id in the low
# bits and the moment number above them, so a photo's label is simply its file id.
MOMENT_SHIFT = 40  # a trillion file ids; moment numbers still fit far below 2**63
FILE_ID_MASK = (1 << MOMENT_SHIFT) - 1
LABEL_SQL = f"((part << {MOMENT_SHIFT}) | file_id)"
# A decoder that kills its worker process this many times on one file is not tried again
# until the file changes.
MAX_CRASHES = 2


def label_of(file_id: int, part: int = 0) -> int:
    """The vector index label of moment `part` of a file."""
    return (part << MOMENT_SHIFT) | file_id


def file_of(label: int) -> int:
    """The file id inside a vector index label."""
    return label & FILE_ID_MASK


def encode_path(path: str | os.PathLike[str]) -> bytes:
    """Paths are stored as raw bytes so that names which are not valid UTF-8 survive intact."""
    return os.fsencode(os.fspath(path))


def decode_path(raw: bytes) -> str:
    return os.fsdecode(raw)


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One row of the catalog's files table."""

    id: int
    path: str
    root_id: int
    kind: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str
    error: str | None
    width: int | None
    height: int | None
    captured_at: float | None
    duration_s: float | None = None
    crashes: int = 0


@dataclass(frozen=True, slots=True)
class Moments:
    """The vectors of one file in one model's space, each with its time in the file.

    A photo has one moment at time None; a video one per sampled frame; a sound one per
    window (its start second).
    """

    model_id: int
    vectors: FloatMatrix
    times: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class EncodedFile:
    """Everything one file's encoding produced, committed in one transaction."""

    file_id: int
    moments: Sequence[Moments]
    width: int | None = None
    height: int | None = None
    captured_at: float | None = None
    duration_s: float | None = None
    kind: str | None = None  # set when the content proved another kind (a video with no picture)

    @classmethod
    def photo(
        cls,
        file_id: int,
        model_id: int,
        vector: npt.NDArray[np.float32],
        width: int | None = None,
        height: int | None = None,
        captured_at: float | None = None,
    ) -> EncodedFile:
        """A still image's result: one vector, at no particular time."""
        moments = Moments(model_id, np.asarray(vector, np.float32).reshape(1, -1), [None])
        return cls(file_id, [moments], width, height, captured_at)


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file found by a scan, about to be inserted."""

    path: str
    root_id: int
    kind: str
    size: int
    mtime_ns: int
    content_hash: str | None


def _run_script(db: sqlite3.Connection, script: str) -> None:
    # executescript() would commit on its own; a migration must stay one transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


# When a photo was taken: its EXIF time, else its modification time (seconds).
CAPTURE_TIME = "COALESCE(captured_at, mtime_ns / 1e9)"


def _create_v1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE roots(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path BLOB NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE files(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path BLOB NOT NULL UNIQUE,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT,
            status TEXT NOT NULL,
            error TEXT,
            width INTEGER,
            height INTEGER,
            captured_at REAL
        );
        CREATE INDEX files_by_hash ON files(content_hash);
        CREATE INDEX files_by_root ON files(root_id);
        CREATE INDEX files_by_status ON files(status);
        CREATE TABLE models(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            identity TEXT NOT NULL UNIQUE,
            dim INTEGER NOT NULL
        );
        CREATE TABLE embeddings(
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            vector BLOB NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY(file_id, model_id)
        );
        CREATE INDEX embeddings_by_seq ON embeddings(model_id, seq);
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    )


def _index_capture_time_v2(db: sqlite3.Connection) -> None:
    # Date filters compare this very expression; indexed, they cost the matches, not the
    # catalog (a 10% date range over 1M files took 550 ms as a full scan).
    _run_script(db, f"CREATE INDEX files_by_time ON files({CAPTURE_TIME});")


def _add_moments_v3(db: sqlite3.Connection) -> None:
    # SQLite cannot change a primary key in place: copy into the new shape, every existing
    # vector becoming moment 0 of its file (so existing index labels stay valid).
    _run_script(
        db,
        """
        CREATE TABLE embeddings_v3(
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            part INTEGER NOT NULL,
            at_s REAL,
            vector BLOB NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY(file_id, model_id, part)
        );
        INSERT INTO embeddings_v3(file_id, model_id, part, at_s, vector, seq)
            SELECT file_id, model_id, 0, NULL, vector, seq FROM embeddings;
        DROP TABLE embeddings;
        ALTER TABLE embeddings_v3 RENAME TO embeddings;
        CREATE INDEX embeddings_by_seq ON embeddings(model_id, seq);
        ALTER TABLE files ADD COLUMN duration_s REAL;
        ALTER TABLE files ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
        """,
    )


# Step-by-step migrations: MIGRATIONS[n] upgrades a database at version n to n + 1.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: _create_v1,
    1: _index_capture_time_v2,
    2: _add_moments_v3,
}


class CatalogError(Exception):
    """The catalog file cannot be opened or is newer than this program."""


# OS errors meaning "no room to write": a full disk, a quota, a file size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})
# SQLite's codes for a write the disk refused; SQLite rolls the transaction back itself.
SQLITE_WRITE_FAILURES = frozenset({"SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC"})


class DiskFullError(CatalogError):
    """Writing to the library's disk failed for want of space; everything committed before
    is intact, and the work resumes where it stopped once there is room again."""

    def __init__(self, folder: Path, detail: str) -> None:
        super().__init__(
            f"The disk holding {folder} is full ({detail}). Free some space on it, then index "
            "again: nothing indexed before is lost."
        )
        self.folder = folder


def is_disk_full(error: BaseException) -> bool:
    """Whether an OS or SQLite error says the disk had no room for a write."""
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorname", "") in SQLITE_WRITE_FAILURES
    return False


class Catalog:
    """The one source of truth: everything else (the vector index, thumbnails) is derived.

    A Catalog object holds one connection and serialises its use with a lock, so it can be
    shared between threads; the program keeps one writer and gives readers their own
    (read-only) Catalog objects, which WAL mode lets run alongside the writer.
    """

    def __init__(self, db_path: Path, *, readonly: bool = False) -> None:
        self.db_path = db_path
        self.readonly = readonly
        self._lock = threading.RLock()
        if readonly:
            uri = f"{db_path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        else:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                db_path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self._db.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable across application crashes in WAL mode; only an OS crash
                # can lose the last transactions, which the next scan simply redoes.
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            elif self.schema_version() != SCHEMA_VERSION:
                raise CatalogError(
                    f"{db_path} has schema {self.schema_version()}; run an index first"
                )
        except BaseException:
            # A damaged file is moved aside next: no connection may stay open on it.
            self._db.close()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def quick_check(self) -> list[str]:
        """Problems SQLite finds in the file's structure (empty when it is sound)."""
        with self._lock:
            rows = self._db.execute("PRAGMA quick_check").fetchall()
        problems = [str(row[0]) for row in rows]
        return [] if problems == ["ok"] else problems

    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.db_path} was written by a newer mediasearch (schema {version}); "
                "update mediasearch to open it"
            )
        while version < SCHEMA_VERSION:
            with self.transaction():
                MIGRATIONS[version](self._db)
                version += 1
                self._db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block atomically; nested use joins the outer transaction."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as error:
                # After a failed write SQLite may have rolled back already; a second ROLLBACK
                # would then raise and hide the real error.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if is_disk_full(error):
                    raise DiskFullError(self.db_path.parent, str(error)) from error
                raise

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return cursor.fetchall()

    # -- roots -----------------------------------------------------------------------------

    def add_root(self, path: str) -> int:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO roots(path, added_at) VALUES (?, ?)",
                (encode_path(path), time.time()),
            )
            row = db.execute("SELECT id FROM roots WHERE path = ?", (encode_path(path),))
            return int(row.fetchone()[0])

    def roots(self) -> dict[int, str]:
        rows = self._query("SELECT id, path FROM roots ORDER BY path")
        return {int(r["id"]): decode_path(r["path"]) for r in rows}

    def root_id(self, path: str) -> int | None:
        rows = self._query("SELECT id FROM roots WHERE path = ?", (encode_path(path),))
        return int(rows[0]["id"]) if rows else None

    def remove_root(self, path: str) -> list[int]:
        """Drop a root and every file under it; returns the ids of the dropped files."""
        with self.transaction() as db:
            row = db.execute("SELECT id FROM roots WHERE path = ?", (encode_path(path),))
            found = row.fetchone()
            if found is None:
                return []
            ids = [r[0] for r in db.execute("SELECT id FROM files WHERE root_id = ?", found)]
            db.execute("DELETE FROM roots WHERE id = ?", found)
            self._bump_seq(db)
            return ids

    # -- files -----------------------------------------------------------------------------

    @staticmethod
    def _record(row: sqlite3.Row) -> FileRecord:
        return FileRecord(
            id=int(row["id"]),
            path=decode_path(row["path"]),
            root_id=int(row["root_id"]),
            kind=row["kind"],
            size=int(row["size"]),
            mtime_ns=int(row["mtime_ns"]),
            content_hash=row["content_hash"],
            status=row["status"],
            error=row["error"],
            width=row["width"],
            height=row["height"],
            captured_at=row["captured_at"],
            duration_s=row["duration_s"],
            crashes=int(row["crashes"]),
        )

    def files_in_root(self, root_id: int) -> dict[str, FileRecord]:
        rows = self._query("SELECT * FROM files WHERE root_id = ?", (root_id,))
        return {record.path: record for record in map(self._record, rows)}

    def files_under(self, path: str) -> dict[str, FileRecord]:
        """The file at `path`, or every file below it when it is (or was) a folder."""
        exact = encode_path(path)
        prefix = encode_path(path.rstrip(os.sep) + os.sep)
        rows = self._query(
            "SELECT * FROM files WHERE path = ? OR substr(path, 1, ?) = ?",
            (exact, len(prefix), prefix),
        )
        return {record.path: record for record in map(self._record, rows)}

    def file_by_path(self, path: str) -> FileRecord | None:
        rows = self._query("SELECT * FROM files WHERE path = ?", (encode_path(path),))
        return self._record(rows[0]) if rows else None

    def files_by_id(self, ids: Iterable[int]) -> dict[int, FileRecord]:
        found: dict[int, FileRecord] = {}
        id_list = list(ids)
        for start in range(0, len(id_list), 500):  # stay under SQLite's parameter limit
            chunk = id_list[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(f"SELECT * FROM files WHERE id IN ({marks})", chunk):
                record = self._record(row)
                found[record.id] = record
        return found

    def files_with_status(self, status: str) -> list[FileRecord]:
        rows = self._query("SELECT * FROM files WHERE status = ? ORDER BY path", (status,))
        return [self._record(r) for r in rows]

    def files_with_hash(self, content_hash: str) -> list[FileRecord]:
        rows = self._query("SELECT * FROM files WHERE content_hash = ?", (content_hash,))
        return [self._record(r) for r in rows]

    def count_files(self, status: str, kinds: Sequence[str]) -> int:
        """How many files of these kinds have this status."""
        marks = ",".join("?" * len(kinds))
        rows = self._query(
            f"SELECT COUNT(*) AS n FROM files WHERE status = ? AND kind IN ({marks})",
            (status, *kinds),
        )
        return int(rows[0]["n"])

    def status_counts(self) -> dict[str, int]:
        rows = self._query("SELECT status, COUNT(*) AS n FROM files GROUP BY status")
        return {r["status"]: int(r["n"]) for r in rows}

    def ids_matching(
        self,
        *,
        folder: str | None = None,
        kinds: Sequence[str] | None = None,
        captured_after: float | None = None,
        captured_before: float | None = None,
    ) -> set[int]:
        """Ids of files passing search filters (folder prefix, kinds, capture-time range).

        Files without an EXIF capture time are filtered by their modification time.
        """
        clauses: list[str] = []
        params: list[object] = []
        if folder is not None:
            # A byte range over the unique path index: everything starting with "folder/"
            # sorts between it and the same prefix with its final separator byte plus one.
            prefix = encode_path(folder.rstrip(os.sep) + os.sep)
            clauses.append("path >= ? AND path < ?")
            params += [prefix, prefix[:-1] + bytes([prefix[-1] + 1])]
        if kinds:
            clauses.append(f"kind IN ({','.join('?' * len(kinds))})")
            params += list(kinds)
        if captured_after is not None:
            clauses.append(f"{CAPTURE_TIME} >= ?")
            params.append(captured_after)
        if captured_before is not None:
            clauses.append(f"{CAPTURE_TIME} < ?")
            params.append(captured_before)
        where = " AND ".join(clauses) if clauses else "1"
        return {int(r["id"]) for r in self._query(f"SELECT id FROM files WHERE {where}", params)}

    def insert_files(self, files: Sequence[NewFile], status: str = STATUS_PENDING) -> list[int]:
        with self.transaction() as db:
            ids = []
            for f in files:
                cursor = db.execute(
                    "INSERT INTO files(path, root_id, kind, size, mtime_ns, content_hash, status)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        encode_path(f.path),
                        f.root_id,
                        f.kind,
                        f.size,
                        f.mtime_ns,
                        f.content_hash,
                        status,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
            return ids

    def mark_changed(
        self, file_id: int, size: int, mtime_ns: int, content_hash: str | None
    ) -> None:
        """A file's content changed: keep its id, forget its embeddings, encode it again."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET size = ?, mtime_ns = ?, content_hash = ?, status = ?,"
                " error = NULL, crashes = 0 WHERE id = ?",
                (size, mtime_ns, content_hash, STATUS_PENDING, file_id),
            )
            db.execute("DELETE FROM embeddings WHERE file_id = ?", (file_id,))
            self._bump_seq(db)

    def move_file(self, file_id: int, new_path: str, root_id: int, mtime_ns: int) -> None:
        """A file was moved or renamed: same row, so it keeps its id and its embeddings."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET path = ?, root_id = ?, mtime_ns = ? WHERE id = ?",
                (encode_path(new_path), root_id, mtime_ns, file_id),
            )

    def touch_file(self, file_id: int, mtime_ns: int) -> None:
        """Same size and content hash, new modification time (e.g. a copy with -p off)."""
        with self.transaction() as db:
            db.execute("UPDATE files SET mtime_ns = ? WHERE id = ?", (mtime_ns, file_id))

    def delete_files(self, ids: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM files WHERE id = ?", [(i,) for i in ids])
            self._bump_seq(db)

    def mark_error(self, file_id: int, reason: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET status = ?, error = ? WHERE id = ?",
                (STATUS_ERROR, reason, file_id),
            )

    def mark_pending(self, ids: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET status = ?, error = NULL WHERE id = ?",
                [(STATUS_PENDING, i) for i in ids],
            )

    # -- models and embeddings -------------------------------------------------------------

    def model_id(self, identity: str, dim: int) -> int:
        """The row id of a model, registering it on first use."""
        with self.transaction() as db:
            row = db.execute("SELECT id, dim FROM models WHERE identity = ?", (identity,))
            found = row.fetchone()
            if found is not None:
                if int(found[1]) != dim:
                    raise CatalogError(f"model {identity} changed dimension {found[1]} -> {dim}")
                return int(found[0])
            cursor = db.execute("INSERT INTO models(identity, dim) VALUES (?, ?)", (identity, dim))
            return int(cursor.lastrowid or 0)

    def known_model(self, identity: str) -> tuple[int, int] | None:
        """(model id, dimension) of a model seen before, without registering it."""
        rows = self._query("SELECT id, dim FROM models WHERE identity = ?", (identity,))
        return (int(rows[0]["id"]), int(rows[0]["dim"])) if rows else None

    def store_results(
        self, encoded: Sequence[EncodedFile], failed: Sequence[tuple[int, str]]
    ) -> None:
        """Commit one encoded batch atomically; `failed` holds (file id, reason).

        A file's moments replace whatever it held before in those models' spaces. A process
        killed mid-run loses at most the batch in flight.
        """
        with self.transaction() as db:
            seq = self._bump_seq(db)
            for done in encoded:
                for moments in done.moments:
                    db.execute(
                        "DELETE FROM embeddings WHERE file_id = ? AND model_id = ?",
                        (done.file_id, moments.model_id),
                    )
                    vectors = np.asarray(moments.vectors, np.float32)
                    vectors = vectors.reshape(len(moments.times), -1)
                    db.executemany(
                        "INSERT INTO embeddings(file_id, model_id, part, at_s, vector, seq)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (done.file_id, moments.model_id, part, at_s, vector.tobytes(), seq)
                            for part, (at_s, vector) in enumerate(
                                zip(moments.times, vectors, strict=True)
                            )
                        ],
                    )
            db.executemany(
                "UPDATE files SET status = ?, error = NULL, width = ?, height = ?,"
                " captured_at = ?, duration_s = ? WHERE id = ?",
                [
                    (STATUS_OK, d.width, d.height, d.captured_at, d.duration_s, d.file_id)
                    for d in encoded
                ],
            )
            db.executemany(
                "UPDATE files SET kind = ? WHERE id = ?",
                [(d.kind, d.file_id) for d in encoded if d.kind is not None],
            )
            db.executemany(
                "UPDATE files SET status = ?, error = ? WHERE id = ?",
                [(STATUS_ERROR, reason, fid) for fid, reason in failed],
            )

    def record_crash(self, file_id: int, reason: str) -> bool:
        """Mark a file failed because its decoder crashed or hung; True if it gets another try.

        The first time, the next full run tries it once more in a fresh worker (a crash can
        be a passing accident: memory pressure, a kill); after MAX_CRASHES it is left alone
        until the file changes.
        """
        with self.transaction() as db:
            db.execute("UPDATE files SET crashes = crashes + 1 WHERE id = ?", (file_id,))
            row = db.execute("SELECT crashes FROM files WHERE id = ?", (file_id,)).fetchone()
            if row is None:
                return False
            retry = int(row[0]) < MAX_CRASHES
            suffix = "tried once more on the next scan" if retry else "not retried until it changes"
            db.execute(
                "UPDATE files SET status = ?, error = ? WHERE id = ?",
                (STATUS_ERROR, f"{reason}; {suffix}", file_id),
            )
            return retry

    def ids_to_retry_after_crash(self) -> list[int]:
        """Failed files whose decoder crashed fewer than MAX_CRASHES times."""
        rows = self._query(
            "SELECT id FROM files WHERE status = ? AND crashes BETWEEN 1 AND ?",
            (STATUS_ERROR, MAX_CRASHES - 1),
        )
        return [int(r["id"]) for r in rows]

    def copy_embeddings(self, source_id: int, target_id: int) -> bool:
        """Give a byte-identical copy of a file the embeddings of its twin, without encoding."""
        with self.transaction() as db:
            source = db.execute(
                "SELECT status, width, height, captured_at, duration_s FROM files WHERE id = ?",
                (source_id,),
            ).fetchone()
            if source is None or source[0] != STATUS_OK:
                return False
            seq = self._bump_seq(db)
            db.execute("DELETE FROM embeddings WHERE file_id = ?", (target_id,))
            db.execute(
                "INSERT INTO embeddings(file_id, model_id, part, at_s, vector, seq)"
                " SELECT ?, model_id, part, at_s, vector, ? FROM embeddings WHERE file_id = ?",
                (target_id, seq, source_id),
            )
            db.execute(
                "UPDATE files SET status = ?, error = NULL, width = ?, height = ?,"
                " captured_at = ?, duration_s = ? WHERE id = ?",
                (STATUS_OK, *source[1:], target_id),
            )
            return True

    def embedding(self, file_id: int, model_id: int) -> npt.NDArray[np.float32] | None:
        """A file's first vector in a model's space (a photo's only one)."""
        rows = self._query(
            "SELECT vector FROM embeddings WHERE file_id = ? AND model_id = ?"
            " ORDER BY part LIMIT 1",
            (file_id, model_id),
        )
        return np.frombuffer(rows[0]["vector"], np.float32).copy() if rows else None

    def file_moments(self, file_id: int, model_id: int) -> tuple[IdArray, FloatMatrix]:
        """Index labels and vectors of every moment of one file in a model's space."""
        return self._labelled_vectors("WHERE model_id = ? AND file_id = ?", (model_id, file_id))

    def embeddings(self, model_id: int, *, since_seq: int = 0) -> tuple[IdArray, FloatMatrix]:
        """Index labels and stored vectors of a model changed after `since_seq` (all of
        them by default)."""
        return self._labelled_vectors("WHERE model_id = ? AND seq > ?", (model_id, since_seq))

    def _labelled_vectors(
        self, where: str, params: Sequence[object]
    ) -> tuple[IdArray, FloatMatrix]:
        rows = self._query(
            f"SELECT {LABEL_SQL} AS label, vector FROM embeddings {where} ORDER BY label",
            params,
        )
        labels = np.fromiter((r["label"] for r in rows), np.int64, len(rows))
        if not rows:
            return labels, np.zeros((0, 0), np.float32)
        matrix = np.frombuffer(b"".join(r["vector"] for r in rows), np.float32)
        return labels, matrix.reshape(len(rows), -1).copy()

    def embedded_labels(self, model_id: int) -> IdArray:
        """Index labels of every vector stored for a model."""
        rows = self._query(
            f"SELECT {LABEL_SQL} AS label FROM embeddings WHERE model_id = ?", (model_id,)
        )
        return np.fromiter((r["label"] for r in rows), np.int64, len(rows))

    def embedded_file_count(self, model_id: int) -> int:
        rows = self._query(
            "SELECT COUNT(*) AS n FROM embeddings WHERE model_id = ? AND part = 0", (model_id,)
        )
        return int(rows[0]["n"])

    def moment_times(self, model_id: int, labels: Iterable[int]) -> dict[int, float | None]:
        """The time in its file (seconds) of each labelled moment; None for photos."""
        wanted = [(file_of(label), label >> MOMENT_SHIFT) for label in labels]
        times: dict[int, float | None] = {}
        for start in range(0, len(wanted), 400):  # two parameters each, under SQLite's limit
            chunk = wanted[start : start + 400]
            pairs = " OR ".join("(file_id = ? AND part = ?)" for _ in chunk)
            rows = self._query(
                f"SELECT {LABEL_SQL} AS label, at_s FROM embeddings"
                f" WHERE model_id = ? AND ({pairs})",
                [model_id, *(value for pair in chunk for value in pair)],
            )
            times.update((int(r["label"]), r["at_s"]) for r in rows)
        return times

    def ids_missing_embedding(self, model_id: int, kinds: Sequence[str]) -> list[int]:
        """Files of these kinds that decoded fine once but have no vector from this model
        (e.g. after a model switch)."""
        marks = ",".join("?" * len(kinds))
        rows = self._query(
            f"SELECT id FROM files WHERE status = ? AND kind IN ({marks}) AND id NOT IN"
            " (SELECT file_id FROM embeddings WHERE model_id = ?)",
            (STATUS_OK, *kinds, model_id),
        )
        return [int(r["id"]) for r in rows]

    # -- change sequence -------------------------------------------------------------------

    def change_seq(self) -> int:
        """A counter bumped by every change to embeddings; the index records the one it saw."""
        rows = self._query("SELECT value FROM meta WHERE key = 'change_seq'")
        return int(rows[0]["value"]) if rows else 0

    @staticmethod
    def _bump_seq(db: sqlite3.Connection) -> int:
        db.execute(
            "INSERT INTO meta(key, value) VALUES ('change_seq', '1')"
            " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
        return int(db.execute("SELECT value FROM meta WHERE key = 'change_seq'").fetchone()[0])
